import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth';
import { refusalReason } from './address-guard';
import { AddressRefusedError } from './errors/address-refused-error';
import { createGuardedLookup } from './guarded-lookup';

/**
 * One outbound HTTP request for an HTTP step: guarded destination, bounded time and bounded
 * response size. Redirects are not followed; a 3xx comes back as the response.
 */

export interface HttpRequestSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A string is sent as is; anything else as JSON. Undefined or null sends no body. */
  body?: unknown;
  /** `body` as JSON when the caller made it already, so it is not serialised twice. */
  bodyJson?: string;
}

export interface HttpRequestBounds {
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivateNetwork: boolean;
  signal?: AbortSignal;
}

export interface HttpResponseOutput {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, else text. */
  body: unknown;
}

export type HttpRequestResult =
  | { ok: true; response: HttpResponseOutput }
  | {
      ok: false;
      reason: 'invalid' | 'refused' | 'timeout' | 'too_large' | 'too_deep' | 'aborted' | 'network';
      message: string;
    };

type Failure = Extract<HttpRequestResult, { ok: false }>;

export function sendHttpRequest(
  spec: HttpRequestSpec,
  bounds: HttpRequestBounds,
): Promise<HttpRequestResult> {
  const url = URL.canParse(spec.url) ? new URL(spec.url) : null;
  if (!url) return failed('invalid', `invalid url ${JSON.stringify(spec.url)}`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return failed('invalid', `url must use http: or https: (got ${url.protocol})`);
  }
  // Sockets skip `lookup` for IP literals, so those are checked here.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    const reason = refusalReason(host, bounds);
    if (reason) return failed('refused', new AddressRefusedError(host, host, reason).message);
  }
  if (bounds.signal?.aborted) return failed('aborted', 'request aborted');

  const { body, contentType } = encodeBody(spec.body, spec.bodyJson);
  const headers: Record<string, string> = { 'user-agent': 'sluice', ...spec.headers };
  if (body !== undefined) {
    headers['content-length'] = String(body.byteLength);
    if (contentType && !hasHeader(headers, 'content-type')) headers['content-type'] = contentType;
  }

  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: HttpRequestResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bounds.signal?.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result);
    };
    const fail = (reason: Failure['reason'], message: string) =>
      finish({ ok: false, reason, message });

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let request: ReturnType<typeof httpRequest>;
    try {
      request = send(url, {
        method: spec.method,
        headers,
        agent: false,
        lookup: createGuardedLookup(bounds),
      });
    } catch (error) {
      // Invalid header names or values throw synchronously.
      resolve({ ok: false, reason: 'invalid', message: (error as Error).message });
      return;
    }
    const timer = setTimeout(
      () => fail('timeout', `request timed out after ${bounds.timeoutMs} ms`),
      bounds.timeoutMs,
    );
    const onAbort = () => fail('aborted', 'request aborted');
    bounds.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('socket', (socket: Socket) => {
      // A last line of defence behind the lookup and IP-literal checks: if the socket ever ends up
      // connected to a refused peer, the step fails rather than returning what that peer says.
      socket.once('connect', () => {
        const peer = socket.remoteAddress ?? '';
        const reason = refusalReason(peer, bounds);
        if (reason) fail('refused', new AddressRefusedError(url.hostname, peer, reason).message);
      });
    });
    request.on('error', (error) => {
      if (error instanceof AddressRefusedError) fail('refused', error.message);
      else fail('network', `request failed: ${error.message}`);
    });
    // A 101 hands the socket over: with no listener Node destroys it without an error or a
    // response, and the step would wait out its whole timeout.
    request.on('upgrade', (response: IncomingMessage, socket: Socket) => {
      socket.destroy();
      fail(
        'network',
        `the server answered ${response.statusCode} Switching Protocols, which an http step cannot follow: it reads one HTTP response`,
      );
    });
    let responded = false;
    // Any other close before a response, so that no way of ending the exchange leaves the step
    // waiting for its timeout.
    request.on('close', () => {
      if (!responded) fail('network', 'the connection closed before a response arrived');
    });
    request.on('response', (response) => {
      responded = true;
      readBody(response, bounds.maxResponseBytes, (read) => {
        if (!read.ok) {
          fail(read.reason, read.message);
          return;
        }
        const body = decodeBody(read.bytes, response.headers['content-type']);
        if (body === TOO_DEEP) {
          fail(
            'too_deep',
            `response body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels, which cannot be stored`,
          );
          return;
        }
        finish({
          ok: true,
          response: {
            status: response.statusCode ?? 0,
            headers: flattenHeaders(response.headers),
            body,
          },
        });
      });
    });
    request.end(body);
  });
}

function failed(reason: Failure['reason'], message: string): Promise<HttpRequestResult> {
  return Promise.resolve({ ok: false, reason, message });
}

/**
 * Reads the body up to `maxBytes`. `done` is called before the response is destroyed, so the
 * size failure is what the caller sees, not the socket error the destroy causes.
 */
function readBody(
  response: IncomingMessage,
  maxBytes: number,
  done: (result: { ok: true; bytes: Buffer } | Failure) => void,
): void {
  const tooLarge = () => {
    done({
      ok: false,
      reason: 'too_large',
      message: `response body is over httpMaxResponseBytes (${maxBytes} bytes)`,
    });
    response.destroy();
  };
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    tooLarge();
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  response.on('data', (chunk: Buffer) => {
    received += chunk.byteLength;
    if (received > maxBytes) tooLarge();
    else chunks.push(chunk);
  });
  response.on('end', () => done({ ok: true, bytes: Buffer.concat(chunks) }));
  response.on('error', (error) =>
    done({ ok: false, reason: 'network', message: `response failed: ${error.message}` }),
  );
}

function encodeBody(
  body: unknown,
  bodyJson: string | undefined,
): { body?: Buffer; contentType?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body === 'string') {
    return { body: Buffer.from(body), contentType: 'text/plain; charset=utf-8' };
  }
  return { body: Buffer.from(bodyJson ?? JSON.stringify(body)), contentType: 'application/json' };
}

const TOO_DEEP = Symbol('too deep');

function decodeBody(bytes: Buffer, contentType: string | undefined): unknown {
  const text = bytes.toString('utf8');
  if (!contentType || !/[/+]json\b/i.test(contentType)) return text;
  if (text.trim() === '') return null;
  // JSON.parse reads any depth, but serialising the output recurses and overflowed the stack
  // (an "internal error"); nothing that deep could be stored anyway.
  if (nestsDeeperThan(text)) return TOO_DEEP;
  try {
    return JSON.parse(text);
  } catch {
    return text; // a server that mislabels its body still gets its text through
  }
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
