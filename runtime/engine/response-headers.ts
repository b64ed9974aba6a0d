/**
 * Which headers a respond step may set. The API's origin and its connections are shared by
 * every project behind one load balancer, so a flow may not touch message framing (a wrong
 * Content-Length desyncs the connection for the next request), the connection itself, cookies,
 * or headers that bind the whole origin (HSTS, Alt-Svc, Clear-Site-Data, and NEL with its
 * Report-To group: a browser keeps that policy for the origin and reports every later request
 * to it, console pages and other projects' webhook URLs included, to the flow's endpoint).
 */

const FORBIDDEN = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
  'host',
  'set-cookie',
  'set-cookie2',
  'strict-transport-security',
  'alt-svc',
  'clear-site-data',
  'nel',
  'report-to',
]);

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, space and tab, and obs-text; no CR, LF or NUL, which would split the message. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_HEADER_VALUE_LENGTH = 8192;
/**
 * The flow's header lines together. Node's parser, fetch's included, reads at most 16 KiB of a
 * response's head (and an ALB forwards at most 32 KB): past it a caller gets a parse error or a
 * 502 instead of the flow's answer. 1 KiB is left for the status line and Sluice's own headers.
 */
const MAX_RESPONSE_HEADER_BYTES = 15 * 1024;
/** The body is always sent as JSON, so only a JSON media type may replace ours. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;

/** Why a respond step may not send this header name, or null. */
export function responseHeaderNameProblem(name: string): string | null {
  if (!HEADER_NAME.test(name)) return `"${name}" is not a valid header name`;
  const lower = name.toLowerCase();
  if (FORBIDDEN.has(lower) || lower.startsWith('proxy-')) {
    return `header "${lower}" is set by Sluice, not by a flow (framing, connection, cookie and origin-wide headers are refused)`;
  }
  return null;
}

/** Why this value cannot be sent in header `name`, or null. */
export function responseHeaderValueProblem(name: string, value: string): string | null {
  if (value.length > MAX_HEADER_VALUE_LENGTH) {
    return `header "${name}" is longer than ${MAX_HEADER_VALUE_LENGTH} characters`;
  }
  if (!HEADER_VALUE.test(value)) {
    return `header "${name}" holds a character a header value cannot carry (control characters, line breaks or characters beyond U+00FF)`;
  }
  if (name.toLowerCase() === 'content-type' && !JSON_MEDIA_TYPE.test(value.trim())) {
    return `header "content-type" must be a JSON media type, since the body is sent as JSON (got "${value}")`;
  }
  return null;
}

/**
 * Why these headers cannot be sent together, or null: each is `name: value` and CRLF on the
 * wire, one byte a character (values are checked to hold nothing beyond U+00FF).
 */
export function responseHeadersSizeProblem(headers: Iterable<[string, string]>): string | null {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  if (bytes <= MAX_RESPONSE_HEADER_BYTES) return null;
  return `headers take ${bytes} bytes, over ${MAX_RESPONSE_HEADER_BYTES} (a caller's HTTP client reads at most 16 KiB of a response's head)`;
}
