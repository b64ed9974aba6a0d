import { expect } from 'vitest';
import type { ApiAnswer, ApiRequest } from './http-clients';

/** What the README promises for one request. */
export interface Expectation {
  status: number;
  /** `error.code` of an error answer. */
  code?: string;
  /** The Allow header of a 204 OPTIONS or a 405. */
  allow?: string;
  /** Matched against the parsed JSON body (toMatchObject). */
  json?: unknown;
  /** The whole parsed JSON body (toEqual): no more, no less. */
  body?: unknown;
  /** Matched against the Location header (a redirect). */
  location?: RegExp;
  /** Headers (lower-case names) and their exact values. */
  headers?: Record<string, string>;
  /** Matched against the body text. */
  text?: string;
  /** Matched against the Content-Type header; an error answer is always JSON. */
  contentType?: RegExp;
}

const JSON_TYPE = /^application\/json/;

/**
 * Checks what every answer promises (a request id, an empty HEAD body, the error shape,
 * Retry-After on 503, Allow on 405) and then what this case promises.
 */
export function expectAnswer(answer: ApiAnswer, request: ApiRequest, expected: Expectation) {
  const seen = `${request.method} ${request.path} -> ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, seen).toBe(expected.status);
  expect(answer.headers['x-request-id'], seen).toMatch(/\S/);
  if (request.method === 'HEAD') expect(answer.text, seen).toBe('');
  if (answer.status >= 400) {
    expect(answer.headers['content-type'], seen).toMatch(JSON_TYPE);
    if (request.method !== 'HEAD') {
      const body = JSON.parse(answer.text) as { error?: Record<string, unknown> };
      // Only `error`; inside it a code and a message, plus details or a 5xx's request id.
      expect(Object.keys(body), seen).toEqual(['error']);
      expect(body.error, seen).toMatchObject({
        code: expected.code ?? expect.any(String),
        message: expect.any(String),
      });
      for (const key of Object.keys(body.error ?? {})) {
        expect(['code', 'message', 'details', 'requestId'], seen).toContain(key);
      }
    }
  }
  if (answer.status === 503) expect(answer.headers['retry-after'], seen).toBe('1');
  if (answer.status === 405 || expected.allow !== undefined) {
    expect(answer.headers.allow, seen).toBe(expected.allow);
  }
  if (expected.contentType !== undefined) {
    expect(answer.headers['content-type'], seen).toMatch(expected.contentType);
  }
  if (expected.json !== undefined) {
    expect(answer.headers['content-type'], seen).toMatch(JSON_TYPE);
    expect(JSON.parse(answer.text), seen).toMatchObject(expected.json as object);
  }
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    expect(answer.headers[name], `${seen} (${name})`).toBe(value);
  }
  if (expected.body !== undefined) expect(JSON.parse(answer.text), seen).toEqual(expected.body);
  if (expected.location !== undefined)
    expect(answer.headers.location, seen).toMatch(expected.location);
  if (expected.text !== undefined) expect(answer.text, seen).toBe(expected.text);
}
