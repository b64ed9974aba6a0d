import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A request as a person types it; `body: undefined` sends none, `''` an empty one. */
export interface ApiRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Sent with `Transfer-Encoding: chunked` and no Content-Length. */
  chunked?: boolean;
}

export interface ApiAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
}

export type ClientName = 'fetch' | 'curl';

const CURL = '/usr/bin/curl';
/** curl is optional on a developer's machine; the cases it would run are skipped, visibly. */
export const curlMissing = existsSync(CURL) ? null : `${CURL} is not installed`;

/** Node's fetch: a chunked body is a stream, which undici sends without a length. */
async function viaFetch(base: string, request: ApiRequest): Promise<ApiAnswer> {
  const { method, path, headers = {}, body, chunked = false } = request;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
  if (body !== undefined) {
    if (chunked) {
      const bytes = new TextEncoder().encode(body);
      init.body = new ReadableStream({
        start(controller) {
          if (bytes.length > 0) controller.enqueue(bytes);
          controller.close();
        },
      });
      init.duplex = 'half';
    } else {
      init.body = body;
    }
  }
  const res = await fetch(`${base}${path}`, init);
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    text: await res.text(),
  };
}

/**
 * curl as people call it: `-d` for a body (so curl adds its own form content type unless one
 * is given), `-I` for HEAD, `-H 'Transfer-Encoding: chunked'` for a chunked body.
 */
async function viaCurl(base: string, request: ApiRequest): Promise<ApiAnswer> {
  const { method, path, headers = {}, body, chunked = false } = request;
  const args = ['-sS', '-i', '--max-time', '20'];
  if (method === 'HEAD') args.push('-I');
  else args.push('-X', method);
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  if (chunked) args.push('-H', 'Transfer-Encoding: chunked');
  // From stdin, as `-d @file` would: a body of megabytes does not fit in an argument.
  if (body !== undefined) args.push('--data-binary', '@-');
  args.push(`${base}${path}`);
  let stdout = await runCurl(args, body ?? '');
  // curl sends `Expect: 100-continue` with a large body: skip the interim answer.
  while (/^HTTP\/[\d.]+ 100 /.test(stdout)) stdout = stdout.slice(stdout.indexOf('\r\n\r\n') + 4);
  const split = stdout.indexOf('\r\n\r\n');
  const head = split === -1 ? stdout : stdout.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headerMap: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headerMap[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    headers: headerMap,
    text: split === -1 ? '' : stdout.slice(split + 4),
  };
}

function runCurl(args: string[], stdin: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(CURL, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0
        ? done(Buffer.concat(out).toString('utf8'))
        : fail(new Error(`curl ${code}: ${err}`)),
    );
    // The server may answer (413) and close before the body is all written: the answer counts.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

export const callApi = (client: ClientName, base: string, request: ApiRequest) =>
  client === 'fetch' ? viaFetch(base, request) : viaCurl(base, request);
