import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createBullmqDriver } from '../../runtime/queue/bullmq-driver';
import { randomQueuePrefix } from '../../test/support/database';
import { startDeployment, waitForDrain } from './deployment';
import { runLoad } from './load';
import { cpuSeconds } from './proc-stats';

/**
 * Redis commands and Redis CPU per sync run with the bullmq driver, counted rather than timed:
 * a redis-server of its own (so no other user's commands land in its counters), `CONFIG
 * RESETSTAT` before and `INFO commandstats` after N runs, and a second pass under MONITOR to
 * tell the commands clients send from those Lua scripts run, and which process sent them.
 * `INFO commandstats` counts a script's inner calls under their own names and its EVALSHA too,
 * and an EVALSHA's usec includes its inner calls': the Redis-side figure sums only what
 * clients sent, each command's usec weighted by the share of its calls that came from clients.
 */

interface CommandStat {
  calls: number;
  usec: number;
}

/** Commands of the harness itself, left out of every figure. */
const HARNESS_COMMANDS = new Set([
  'config',
  'config|resetstat',
  'info',
  'monitor',
  'client|list',
  'ping',
]);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedisServer(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      break;
    } catch (error) {
      if (i > 50) throw error;
      await sleep(100);
    }
  }
  return { port, child };
}

async function commandStats(redis: Redis): Promise<Map<string, CommandStat>> {
  const text = await redis.info('commandstats');
  const stats = new Map<string, CommandStat>();
  for (const line of text.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match === null || HARNESS_COMMANDS.has(match[1] ?? '')) continue;
    stats.set(match[1] ?? '', { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** Client port → the deployment's role of the process that owns the socket (from `ss`). */
function rolesByPort(port: number, roleOfPid: Map<number, string>): Map<string, string> {
  const out = execFileSync('ss', ['-tnpH', `dport = :${port}`], { encoding: 'utf8' });
  const roles = new Map<string, string>();
  for (const line of out.split('\n')) {
    const local = /\s(127\.0\.0\.1:\d+)\s/.exec(line)?.[1];
    const pid = Number(/pid=(\d+)/.exec(line)?.[1]);
    if (local !== undefined) roles.set(local, roleOfPid.get(pid) ?? 'harness');
  }
  return roles;
}

interface Monitored {
  /** `role command` or `lua command` → calls. */
  counts: Map<string, number>;
  /** Ends the feed and tallies it, naming each client by `roles` (its address → role). */
  stop(roles: Map<string, string>): Promise<void>;
}

/**
 * MONITOR through redis-cli, whose output is one line per command:
 * `<time> [<db> <client address | lua>] "<command>" …`. (ioredis's monitor() loses its place
 * when a feed line arrives before its MONITOR reply.)
 */
async function monitor(port: number): Promise<Monitored> {
  const child = spawn('redis-cli', ['-p', String(port), 'monitor'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pending: [string, string][] = [];
  let buffered = '';
  let ready!: () => void;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === 'OK') ready();
      const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
      if (match !== null) pending.push([match[1] ?? '', (match[2] ?? '').toLowerCase()]);
    }
  });
  await started;
  const counts = new Map<string, number>();
  return {
    counts,
    async stop(roles) {
      await sleep(100);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      for (const [source, command] of pending) {
        if (HARNESS_COMMANDS.has(command)) continue;
        const who = source === 'lua' ? 'lua' : (roles.get(source) ?? 'harness');
        const key = `${who} ${command}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    },
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface RedisCommandOptions {
  workers: number;
  runs: number;
  connections: number[];
  idleSeconds: number;
  /** Waiting jobs behind the 1,000 the reconciler's liveness check asks about. */
  backlog: number;
}

/**
 * The reconciler's `liveJobIds` for a full batch (1,000 overdue runs) while `backlog` jobs
 * wait: the check a deployment makes every pass while a burst is queued.
 */
async function liveJobCheck(port: number, admin: Redis, backlog: number) {
  const driver = createBullmqDriver({
    redis: { url: `redis://127.0.0.1:${port}` },
    prefix: randomQueuePrefix(),
    failedJobRetentionDays: 7,
    failedJobRetentionCount: 1000,
    stalledAfterMs: 30_000,
  });
  try {
    const ids = Array.from({ length: backlog }, (_, i) => `run-${i}`);
    for (let i = 0; i < ids.length; i += 500) {
      await Promise.all(
        ids.slice(i, i + 500).map((runId) => driver.queue.enqueue({ runId, replyTo: null })),
      );
    }
    // The oldest runs sit at the far end of the wait list from where LPUSH adds.
    const asked = ids.slice(0, 1000);
    await admin.config('RESETSTAT');
    const watched = await monitor(port);
    const started = performance.now();
    const live = await driver.queue.liveJobIds(asked);
    const ms = performance.now() - started;
    await watched.stop(new Map());
    const stats = await commandStats(admin);
    return {
      scenario: 'redis-commands',
      phase: 'live-job-check',
      backlog,
      asked: asked.length,
      live: live.size,
      commands: sum(stats, 'calls'),
      client_commands: clientCalls(watched.counts),
      redis_usec: round(clientUsec(stats, watched.counts)),
      wall_ms: round(ms, 1),
    };
  } finally {
    await driver.queue.close();
  }
}

export async function redisCommandFigures(
  options: RedisCommandOptions,
): Promise<Record<string, unknown>[]> {
  const redisServer = await startRedisServer();
  const { port } = redisServer;
  const admin = new Redis({ port });
  // Before the deployment starts, so that its processes send nothing meanwhile.
  const figures: Record<string, unknown>[] = [await liveJobCheck(port, admin, options.backlog)];
  const deployment = await startDeployment(options.workers, {
    redisUrl: `redis://127.0.0.1:${port}`,
  });
  try {
    const roleOfPid = new Map<number, string>([[deployment.app.child.pid ?? 0, 'app']]);
    for (const worker of deployment.workers) roleOfPid.set(worker.child.pid ?? 0, 'worker');
    const body = '{"a":1,"b":2}';
    const standard = {
      name: 'bench-standard',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'sum',
          type: 'code',
          code: 'export default ({ trigger }) => ({ sum: trigger.body.a + trigger.body.b })',
        },
        { id: 'reply', type: 'respond', status: 200, body: { sum: '{{sum.sum}}' } },
      ],
    };
    const flowId = await deployment.createFlow(standard);
    const url = `${deployment.base}/v1/webhooks/${flowId}/sync`;
    await runLoad({ url, body, connections: 4, amount: 100 });
    await waitForDrain(deployment.sql, flowId);
    const withRoles = (watched: Monitored) => watched.stop(rolesByPort(port, roleOfPid));

    // Idle: what the processes send on timers with no run in flight.
    await sleep(1000);
    await admin.config('RESETSTAT');
    const idle = await monitor(port);
    await sleep(options.idleSeconds * 1000);
    await withRoles(idle);
    const idleStats = await commandStats(admin);
    figures.push({
      scenario: 'redis-commands',
      phase: 'idle',
      workers: options.workers,
      seconds: options.idleSeconds,
      commands_per_s: round(sum(idleStats, 'calls') / options.idleSeconds),
      client_commands_per_s: round(clientCalls(idle.counts) / options.idleSeconds),
      by_sender_per_s: perUnit(idle.counts, options.idleSeconds),
    });

    for (const c of options.connections) {
      // Pass 1: counters and redis-server CPU, undisturbed by MONITOR.
      await admin.config('RESETSTAT');
      const cpuBefore = cpuSeconds(redisServer.child.pid ?? 0);
      const load = await runLoad({ url, body, connections: c, amount: options.runs });
      const cpuS = cpuSeconds(redisServer.child.pid ?? 0) - cpuBefore;
      const stats = await commandStats(admin);
      await waitForDrain(deployment.sql, flowId);
      // Pass 2: the same load under MONITOR, for who sent what.
      await admin.config('RESETSTAT');
      const watched = await monitor(port);
      await runLoad({ url, body, connections: c, amount: options.runs });
      await withRoles(watched);
      await waitForDrain(deployment.sql, flowId);
      const runs = options.runs;
      const scripts = ['eval', 'evalsha', 'fcall'].reduce(
        (n, name) => n + (stats.get(name)?.calls ?? 0),
        0,
      );
      figures.push({
        scenario: 'redis-commands',
        phase: 'sync',
        connections: c,
        workers: options.workers,
        runs,
        ok_2xx: load.ok_2xx,
        req_per_s: load.req_per_s,
        seconds: load.duration_s,
        commands_per_run: round(sum(stats, 'calls') / runs),
        scripts_per_run: round(scripts / runs),
        client_commands_per_run: round(clientCalls(watched.counts) / runs),
        redis_usec_per_run: round(clientUsec(stats, watched.counts) / runs, 1),
        redis_process_cpu_ms_per_run: round((cpuS * 1000) / runs, 3),
        usec_per_run_by_command: perUnit(
          new Map([...stats].map(([name, stat]) => [name, stat.usec])),
          runs,
        ),
        by_command_per_run: perUnit(
          new Map([...stats].map(([name, stat]) => [name, stat.calls])),
          runs,
        ),
        by_sender_per_run: perUnit(watched.counts, runs),
      });
    }
  } finally {
    admin.disconnect();
    await deployment.close();
    redisServer.child.kill('SIGKILL');
  }
  return figures;
}

function sum(stats: Map<string, CommandStat>, field: keyof CommandStat): number {
  let total = 0;
  for (const stat of stats.values()) total += stat[field];
  return total;
}

function clientCalls(counts: Map<string, number>): number {
  let total = 0;
  for (const [key, n] of counts) if (!key.startsWith('lua ')) total += n;
  return total;
}

/**
 * Redis-side µs of what clients sent: each command's usec times the share of its calls that
 * clients (not scripts) made, since an EVALSHA's usec already holds its inner calls'.
 */
function clientUsec(stats: Map<string, CommandStat>, counts: Map<string, number>): number {
  const fromClients = new Map<string, number>();
  const fromScripts = new Map<string, number>();
  for (const [key, n] of counts) {
    const [who, command = ''] = key.split(' ');
    const target = who === 'lua' ? fromScripts : fromClients;
    target.set(command, (target.get(command) ?? 0) + n);
  }
  let total = 0;
  for (const [name, stat] of stats) {
    const base = name.split('|')[0] ?? name;
    const clients = fromClients.get(base) ?? 0;
    const all = clients + (fromScripts.get(base) ?? 0);
    if (all > 0) total += (stat.usec * clients) / all;
  }
  return total;
}

function perUnit(counts: Map<string, number>, unit: number): Record<string, number> {
  return Object.fromEntries(
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([key, n]) => [key, round(n / unit)])
      .filter(([, n]) => (n as number) > 0),
  );
}
