import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../../support/stack';

/**
 * The README's endpoint table against the routes the APP serves, with every optional part on
 * (Bull Board, local storage), so that neither gains or loses an endpoint alone.
 */

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** Served by the worker's loopback health server, not the APP. */
const NOT_THE_APP = new Set(['GET /healthz']);

/** `METHOD /path` for each endpoint the table under `## HTTP API` names, parameters as `:`. */
function documentedEndpoints(): Set<string> {
  const start = readme.indexOf('\n## HTTP API\n');
  const end = readme.indexOf('\n## ', start + 1);
  const endpoints = new Set<string>();
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.slice(1).split(/(?<!\\)\|/)[0] ?? '';
    let methods: string[] = [];
    let previous = '';
    for (const [, item = ''] of firstCell.matchAll(/`([^`]+)`/g)) {
      const named = /^([A-Z/]+) (\S+)$/.exec(item);
      let path: string;
      if (named === null && !item.startsWith('/')) continue; // prose, such as the worker's address
      if (named !== null) {
        methods = (named[1] ?? '').split('/');
        path = named[2] ?? '';
      } else if (item.split('/')[1] === previous.split('/')[1]) {
        path = item; // `/console/flows` after `GET /console`: a whole path, same method
      } else {
        path = previous.replace(/\/[^/]+$/, item); // `/enable` after `.../disable`
      }
      previous = path;
      for (const method of methods) endpoints.add(`${method} ${normalized(path)}`);
    }
  }
  return endpoints;
}

/** A path without its query, every parameter name as `:`, so that `:id` and `:runId` agree. */
const normalized = (path: string) => path.replace(/\?.*$/, '').replace(/:[A-Za-z]+/g, ':');

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack(
    {
      SLUICE_QUEUE_UI: 'true',
      SLUICE_QUEUE_UI_USER: 'ops',
      SLUICE_QUEUE_UI_PASSWORD: 'correct-horse-battery',
    },
    { worker: false },
  );
});
afterAll(() => stack.close());

/** The routes the APP answers, less middleware and Bull Board's own pages and API. */
function servedEndpoints(): Set<string> {
  return new Set(
    stack.api.routes
      .filter(({ method, path }) => method !== 'ALL' && !path.startsWith('/admin/queues/'))
      .map(({ method, path }) => `${method} ${normalized(path)}`),
  );
}

describe("the README's endpoint table", () => {
  it('names every route the APP serves, and no route it does not', () => {
    const documented = documentedEndpoints();
    const served = servedEndpoints();
    expect(served.size).toBeGreaterThan(30);
    expect([...served].filter((endpoint) => !documented.has(endpoint))).toEqual([]);
    expect(
      [...documented].filter((endpoint) => !served.has(endpoint) && !NOT_THE_APP.has(endpoint)),
    ).toEqual([]);
  });
});
