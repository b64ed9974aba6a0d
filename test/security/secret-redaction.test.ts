import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Forms } from '../../runtime/engine/secret-redaction';
import { withPgClient } from '../support/database';
import { type HttpStub, startHttpStub } from '../support/http-stub';
import { type RunningS3rver, s3StorageEnv, startS3rver } from '../support/s3rver';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A secret's value leaves a run only through a respond step's sync reply. Everything else a
 * run leaves behind is searched for it: every PostgreSQL row, every storage object, every
 * application log line, and every API answer.
 */

const VALUE = `sk-live-${randomBytes(16).toString('hex')}`;
const MARK = '[secret:TOKEN]';
/** Neither the value nor its base64 (a Basic header's echo) may be anywhere but the one exit. */
const expectNoValue = (text: string) => {
  for (const form of [VALUE, ...base64Forms(VALUE)]) expect(text).not.toContain(form);
};
let stack: TestStack;
let s3: RunningS3rver;
let echo: HttpStub;
const logLines: string[] = [];
const answers: string[] = [];

const runsOf = async (flowId = '') => {
  const res = await stack.call('GET', `/v1/runs${flowId === '' ? '' : `?flowId=${flowId}`}`);
  const text = await res.text();
  answers.push(text);
  return (JSON.parse(text) as { runs: { id: string }[] }).runs.map((run) => run.id);
};

const createFlow = async (definition: unknown) => {
  const res = await stack.call('POST', '/v1/flows', definition);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
};
/** A webhook flow of one step. */
const createStepFlow = (name: string, step: Record<string, unknown>) =>
  createFlow({ name, trigger: { type: 'webhook' }, steps: [step] });
const addSecret = async (name: string, value: string) =>
  expect((await stack.call('POST', '/v1/secrets', { name, value })).status).toBe(201);
/** Runs made by the tests above the last one, which checks every one of them. */
let runsMade = 0;
const sync = async (flowId: string) => {
  runsMade++;
  const res = await stack.api.request(`/v1/webhooks/${flowId}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"n":1}',
  });
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, text, body };
};

beforeAll(async () => {
  s3 = await startS3rver();
  // Echoes the request back, as a careless API does: the secret comes back in the response.
  echo = await startHttpStub((request) => ({
    status: request.path.startsWith('/deny') ? 401 : 200,
    body: JSON.stringify({
      path: request.path,
      auth: request.headers.authorization,
      body: request.body,
    }),
  }));
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  stack = await startTestStack(
    {
      ...s3StorageEnv(s3),
    },
    { logger },
  );
  await addSecret('TOKEN', VALUE);
}, 60_000);
afterAll(async () => {
  await stack.close();
  await echo.close();
  await s3.close();
});

describe('a secret used by a flow', () => {
  it('reaches the http step in url, headers and body, and comes back redacted', async () => {
    const flowId = await createStepFlow('echoes', {
      id: 'call',
      type: 'http',
      method: 'POST',
      url: `${echo.url}/echo?key={{secrets.TOKEN}}`,
      headers: { authorization: 'Bearer {{secrets.TOKEN}}' },
      body: { token: '{{secrets.TOKEN}}' },
    });
    const { status, text, body } = await sync(flowId);
    answers.push(text);
    expect(status).toBe(200);
    const sent = echo.requests.at(-1);
    expect(sent?.path).toBe(`/echo?key=${VALUE}`);
    expect(sent?.headers.authorization).toBe(`Bearer ${VALUE}`);
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({ token: VALUE });
    // No respond step: the last output is the reply, and it is redacted like the record.
    expect(JSON.stringify(body)).toContain(`Bearer ${MARK}`);
  });

  it('is redacted when a URL sends it as Basic credentials and the target echoes them', async () => {
    const flowId = await createStepFlow('basic auth', {
      id: 'call',
      type: 'http',
      method: 'GET',
      url: `${echo.url.replace('://', '://deploy:{{secrets.TOKEN}}@')}/echo`,
    });
    const { status, text, body } = await sync(flowId);
    answers.push(text);
    expect(status).toBe(200);
    const basic = Buffer.from(`deploy:${VALUE}`).toString('base64');
    expect(echo.requests.at(-1)?.headers.authorization).toBe(`Basic ${basic}`);
    const echoed = JSON.stringify(body);
    expect(echoed).toContain(MARK);
    expect(echoed).not.toContain(basic.slice(4, -4));
    const [runId] = await runsOf(flowId);
    const run = await (await stack.call('GET', `/v1/runs/${runId}`)).text();
    answers.push(run);
    expect(run).not.toContain(basic.slice(4, -4));
  });

  it("is redacted when a target echoes it as its own language's JSON encoder escapes it", async () => {
    // A base64-style key: PHP's json_encode writes each "/" as "\/", and PHP serves JSON as
    // text/html unless told otherwise, so the step keeps the echo as text.
    const key = `wJalrXUtnFEMI/K7MDENG/bPxRfiCY${randomBytes(6).toString('hex')}`;
    const phpEscaped = key.replaceAll('/', '\\/');
    await addSecret('SLASHED', key);
    const php = await startHttpStub((request) => ({
      status: 200,
      headers: { 'content-type': 'text/html; charset=UTF-8' },
      body: `{"auth":"${String(request.headers.authorization).replaceAll('/', '\\/')}"}`,
    }));
    try {
      const flowId = await createStepFlow('php echo', {
        id: 'call',
        type: 'http',
        method: 'GET',
        url: `${php.url}/me`,
        headers: { authorization: 'Bearer {{secrets.SLASHED}}' },
      });
      const { status, text } = await sync(flowId);
      answers.push(text);
      expect(status).toBe(200);
      expect(text).toContain('[secret:SLASHED]');
      const [runId] = await runsOf(flowId);
      const run = await (await stack.call('GET', `/v1/runs/${runId}`)).text();
      answers.push(run);
      for (const seen of [text, run]) {
        expect(seen).not.toContain('K7MDENG');
        expect(seen).not.toContain(phpEscaped);
      }
    } finally {
      await php.close();
    }
  });

  it('is redacted when a code step returns it, and in a code step error', async () => {
    const returns = await createStepFlow('returns', {
      id: 'leak',
      type: 'code',
      code: 'export default ({ secrets }) => ({ t: secrets.TOKEN, [secrets.TOKEN]: 1 })',
    });
    const returned = await sync(returns);
    answers.push(returned.text);
    expect(returned.body).toEqual({ t: MARK, [MARK]: 1 });

    const throws = await createStepFlow('throws', {
      id: 'boom',
      type: 'code',
      code: 'export default ({ secrets }) => { throw new Error("bad " + secrets.TOKEN); }',
    });
    const thrown = await sync(throws);
    answers.push(thrown.text);
    expect(thrown.status).toBe(500);
    expect(thrown.body.error).toContain(`bad ${MARK}`);
  });

  it('is redacted in an http step error that quotes the response', async () => {
    const flowId = await createStepFlow('denied', {
      id: 'call',
      type: 'http',
      method: 'GET',
      url: `${echo.url}/deny/{{secrets.TOKEN}}`,
      headers: { authorization: '{{secrets.TOKEN}}' },
    });
    const { status, text, body } = await sync(flowId);
    answers.push(text);
    expect(status).toBe(500);
    expect(body.error).toContain('answered 401');
    expect(body.error).toContain(MARK);
  });

  it('goes out in a respond step reply, the one deliberate exit, and stays redacted in its run', async () => {
    const flowId = await createStepFlow('responds', {
      id: 'reply',
      type: 'respond',
      body: { token: '{{secrets.TOKEN}}' },
    });
    const { status, body } = await sync(flowId);
    expect(status).toBe(200);
    expect(body).toEqual({ token: VALUE });
    const [runId] = await runsOf(flowId);
    const run = await (await stack.call('GET', `/v1/runs/${runId}`)).text();
    answers.push(run);
    expect(run).toContain(MARK);
  });

  it('is redacted in full before a long code step error is cut, never cut in half', async () => {
    const big = `BIG${randomBytes(1500).toString('hex')}`;
    await addSecret('BIG', big);
    const throwing = async (code: string) => {
      const flowId = await createStepFlow('throws long', { id: 'boom', type: 'code', code });
      const thrown = await sync(flowId);
      answers.push(thrown.text);
      expect(thrown.status).toBe(500);
      const runId = (await runsOf(flowId))[0] ?? '';
      const run = await (await stack.call('GET', `/v1/runs/${runId}`)).text();
      answers.push(run);
      return `${thrown.text}\n${run}`;
    };
    // The value straddles the 2,000th character, where the description is cut.
    const straddling = await throwing(
      'export default ({ secrets }) => { throw new Error("x".repeat(1990) + secrets.TOKEN); }',
    );
    expect(straddling).not.toContain(VALUE.slice(0, 10));
    // A value longer than the description: none of it may show.
    const whole = await throwing(
      'export default ({ secrets }) => { throw new Error(secrets.BIG); }',
    );
    expect(whole).not.toContain(big.slice(0, 40));
    expect(whole).toContain('[secret:BIG]');
    // Thrown far past what leaves the isolate, after a value redaction shortens.
    const far = await throwing(
      'export default ({ secrets }) => { throw new Error(secrets.TOKEN + "y".repeat(700000) + secrets.BIG); }',
    );
    expect(far).not.toContain(big.slice(0, 12));
  });

  it('is redacted in the forms a URL takes in an http step error: percent-encoded, or a lower-cased host', async () => {
    const pw = 'Päss wörd{7}Xq';
    const sub = 'TenantAcme7731Secret';
    await addSecret('PW', pw);
    await addSecret('SUB', sub);
    const failing = async (url: string) => {
      const flowId = await createStepFlow('unreachable', {
        id: 'call',
        type: 'http',
        method: 'GET',
        url,
      });
      const failed = await sync(flowId);
      answers.push(failed.text);
      expect(failed.status).toBe(500);
      return failed.text;
    };
    const path = await failing('http://127.0.0.1:1/login/{{secrets.PW}}');
    expect(path).not.toContain('P%C3%A4ss');
    expect(path).not.toContain('Päss');
    expect(path).toContain('[secret:PW]');
    const host = await failing('http://{{secrets.SUB}}.example.invalid/x');
    expect(host.toLowerCase()).not.toContain('tenantacme7731secret');
    expect(host).toContain('[secret:SUB]');
  });

  it('is redacted in an http error that quotes a body quoting the request, escaped twice', async () => {
    const pem = '-----BEGIN KEY-----\nMIIBqUx7Q2z\n-----END KEY-----';
    await addSecret('PEM', pem);
    const flowId = await createStepFlow('quotes the request', {
      id: 'call',
      type: 'http',
      method: 'POST',
      url: `${echo.url}/deny`,
      body: { key: '{{secrets.PEM}}' },
    });
    const { status, text } = await sync(flowId);
    answers.push(text);
    expect(status).toBe(500);
    // The echo quotes the JSON request body as a string inside its JSON answer.
    expect(text).toContain('answered 401');
    expect(text).not.toContain('MIIBqUx7Q2z');
    expect(text).toContain('[secret:PEM]');
  });

  it('appears in no row, no stored object, no log line and no other API answer', async () => {
    // A small log is kept in the run row, a large one goes to S3 after the reply: read each
    // run's log through its logUrl (waiting, with a deadline, for those still being stored),
    // and every object in the bucket.
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    const logs: string[] = [];
    for (const runId of await runsOf()) {
      const deadline = Date.now() + 15_000;
      let text: string | null = null;
      while (text === null && Date.now() < deadline) {
        const run = (await (await stack.call('GET', `/v1/runs/${runId}`)).json()) as {
          logUrl: string | null;
        };
        const url = run.logUrl;
        if (url !== null && !url.startsWith(s3.endpoint)) {
          const served = await stack.call('GET', url.slice(new URL(url).origin.length));
          if (served.status === 200) text = await served.text();
        } else if (url !== null) {
          const served = await fetch(url);
          if (served.status === 200) text = await served.text();
        }
        if (text === null) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(text, `run ${runId} has a readable log`).not.toBeNull();
      logs.push(text ?? '');
    }
    expect(logs).toHaveLength(runsMade);
    const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    const objects = await Promise.all(
      (listed.Contents ?? []).map(async ({ Key }) => {
        const got = await s3Client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }));
        return got.Body?.transformToString() ?? '';
      }),
    );
    expect(logs.join('\n')).toContain(MARK);
    expectNoValue([...logs, ...objects].join('\n'));
    // Each step's input is in its log, with the secret it was resolved with redacted.
    const inputs = logs.flatMap(
      (text) => (JSON.parse(text) as { log: { stepId: string; input?: unknown }[] }).log,
    );
    expect(inputs).toContainEqual(
      expect.objectContaining({
        stepId: 'call',
        input: {
          method: 'POST',
          url: `${echo.url}/echo?key=${MARK}`,
          headers: { authorization: `Bearer ${MARK}` },
          body: { token: MARK },
        },
      }),
    );
    expect(inputs).toContainEqual(
      expect.objectContaining({
        stepId: 'leak',
        input: expect.objectContaining({ secrets: { TOKEN: MARK } }),
      }),
    );

    const rows = await withPgClient(stack.database.url, async (client) => {
      const tables = await client.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = 'public'",
      );
      const dumped: string[] = [];
      for (const { name } of tables.rows) {
        const all = await client.query(`select t::text as row from "${name}" t`);
        dumped.push(...all.rows.map((r: { row: string }) => r.row));
      }
      return dumped.join('\n');
    });
    expect(rows).toContain(MARK);
    expectNoValue(rows);

    for (const path of ['/v1/secrets', '/v1/flows']) {
      answers.push(await (await stack.call('GET', path)).text());
    }
    const runIds = await runsOf();
    expect(runIds).toHaveLength(runsMade);
    for (const runId of runIds) {
      answers.push(await (await stack.call('GET', `/v1/runs/${runId}`)).text());
    }
    expectNoValue(answers.join('\n'));

    expect(logLines.length).toBeGreaterThan(0);
    expectNoValue(logLines.join('\n'));
  });
});
