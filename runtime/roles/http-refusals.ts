import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** The answer to a request Node's server refuses before the API sees it. */
interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** llhttp's and Node's codes for a request they refuse, in the API's words. */
const PARSER_REFUSALS: Record<string, Refusal> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'headers_too_large',
    message: 'the request line and headers together are larger than the server accepts',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    code: 'payload_too_large',
    message: 'chunk extensions are larger than the server accepts',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    message: 'the request was not received in time',
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_framing',
    message: 'Content-Length is repeated or unexpected',
  },
  HPE_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_framing',
    message: 'Content-Length is not a decimal number',
  },
  HPE_INVALID_TRANSFER_ENCODING: {
    status: 400,
    code: 'invalid_framing',
    message: 'Transfer-Encoding must be chunked alone, and without Content-Length',
  },
  HPE_INVALID_CHUNK_SIZE: {
    status: 400,
    code: 'invalid_framing',
    message: 'a chunk size is not a hexadecimal number',
  },
  HPE_INVALID_METHOD: {
    status: 400,
    code: 'bad_request',
    message: 'the method is not one this server knows (is this TLS sent to a plain HTTP port?)',
  },
  HPE_INVALID_VERSION: {
    status: 400,
    code: 'bad_request',
    message: 'the request line must end with HTTP/1.0 or HTTP/1.1 and CRLF',
  },
  HPE_INVALID_HEADER_TOKEN: {
    status: 400,
    code: 'bad_request',
    message: 'a header name holds a character headers cannot have',
  },
};

const MALFORMED: Refusal = {
  status: 400,
  code: 'bad_request',
  message: 'the request is not well-formed HTTP/1.1',
};

/** A parser error's answer: its status, and a fixed text that names the fault. */
export const refusalForClientError = (error: { code?: unknown }): Refusal =>
  (typeof error.code === 'string' ? PARSER_REFUSALS[error.code] : undefined) ?? MALFORMED;

/** The refusal as a whole HTTP/1.1 message in the API's error shape, closing the connection. */
export function refusalMessage({ status, code, message }: Refusal): string {
  const body = JSON.stringify({ error: { code, message } });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${randomUUID()}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * Answers `refusal` on a socket whose request Node could not hand to the API, then closes it:
 * its framing cannot be trusted, so nothing more is read from it. As Node's own handler does,
 * nothing is written when a response on the socket has already begun (a pipelined request),
 * since bytes in the middle of that response would corrupt it.
 */
export function refuseOnSocket(socket: Duplex, refusal: Refusal): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) socket.write(refusalMessage(refusal));
  socket.destroy();
}
