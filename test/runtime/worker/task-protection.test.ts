import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { protectWhileRunning } from '../../../runtime/worker/protect-while-running';
import { createEcsTaskProtection } from '../../../runtime/worker/task-protection';
import { type HttpStub, startHttpStub } from '../../support/http-stub';

/** The ECS agent is the one thing faked: a local stub at ECS_AGENT_URI. */
let agent: HttpStub;
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const states = () =>
  agent.requests.map(
    (r) => JSON.parse(r.body) as { ProtectionEnabled: boolean; ExpiresInMinutes?: number },
  );

beforeEach(async () => {
  agent = await startHttpStub(() => ({ status: 200, body: '{"protection":{}}' }));
});

afterEach(async () => {
  await agent.close();
});

describe('scale-in protection while running', () => {
  it('protects once for back-to-back runs and unprotects when idle', async () => {
    const run = protectWhileRunning(
      async () => {
        await sleep(30);
      },
      {
        protection: createEcsTaskProtection(`${agent.url}/`),
        runBudgetMs: 700_000,
        idleGraceMs: 100,
        logger,
      },
    );
    await Promise.all([run({ runId: 'a', replyTo: null }), run({ runId: 'b', replyTo: null })]);
    // Unprotecting happens after the runs return: wait for that call rather than a fixed time.
    await vi.waitFor(() => expect(agent.requests).toHaveLength(2), { timeout: 5000, interval: 5 });
    expect(
      agent.requests.every((r) => r.method === 'PUT' && r.path === '/task-protection/v1/state'),
    ).toBe(true);
    expect(states()).toEqual([
      { ProtectionEnabled: true, ExpiresInMinutes: 24 },
      { ProtectionEnabled: false },
    ]);
  });

  it('keeps protection across runs taken one after another, as a worker of concurrency 1 does', async () => {
    const run = protectWhileRunning(
      async () => {
        await sleep(30);
      },
      {
        protection: createEcsTaskProtection(agent.url),
        runBudgetMs: 700_000,
        idleGraceMs: 300,
        logger,
      },
    );
    // A backlog: each job is taken as the one before it ends (BullMQ hands the next job over in
    // the call that completes the last, within milliseconds).
    for (const runId of ['a', 'b', 'c']) await run({ runId, replyTo: null });
    await vi.waitFor(() => expect(agent.requests).toHaveLength(2), { timeout: 5000, interval: 5 });
    // One call on, one off once idle: not an off and an on again between runs, each a round
    // trip to ECS that the next run waited for, and two more UpdateTaskProtection calls
    // towards the account's ECS API rate per run.
    await sleep(400);
    expect(states()).toEqual([
      { ProtectionEnabled: true, ExpiresInMinutes: 24 },
      { ProtectionEnabled: false },
    ]);
  });

  it('renews for a run that would outlast the 48 h the agent grants at most', async () => {
    // A 24 h flow timeout plus the drain window: two budgets are more than ECS's 2880 minutes.
    const runBudgetMs = (86_400 + 100) * 1000;
    const run = protectWhileRunning(async () => undefined, {
      protection: createEcsTaskProtection(agent.url),
      runBudgetMs,
      idleGraceMs: 48 * 3_600_000,
      logger,
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      await run({ runId: 'a', replyTo: null });
      // A day later a run starts that may take its whole budget: it would end after the 48 h
      // granted at the first call, so it must protect again.
      vi.setSystemTime(Date.now() + 24 * 3_600_000);
      await run({ runId: 'b', replyTo: null });
    } finally {
      vi.useRealTimers();
    }
    expect(states()).toEqual([
      { ProtectionEnabled: true, ExpiresInMinutes: 2880 },
      { ProtectionEnabled: true, ExpiresInMinutes: 2880 },
    ]);
  });

  it('runs the flow even when the agent refuses, and logs it', async () => {
    agent.respond(() => ({ status: 200, body: '{"failure":{"Reason":"TASK_NOT_VALID"}}' }));
    const warnings: string[] = [];
    let ran = false;
    const run = protectWhileRunning(
      async () => {
        ran = true;
      },
      {
        protection: createEcsTaskProtection(agent.url),
        runBudgetMs: 60_000,
        logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
      },
    );
    await run({ runId: 'a', replyTo: null });
    expect(ran).toBe(true);
    expect(warnings[0]).toContain('task protection not updated');
  });
});
