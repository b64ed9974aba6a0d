import { createRequire } from 'node:module';

interface AutocannonResult {
  requests: { average: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(
    event: 'response',
    listener: (client: unknown, status: number, bytes: number, ms: number) => void,
  ): void;
}
type Autocannon = (options: Record<string, unknown>) => AutocannonInstance;

// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadOptions {
  url: string;
  body: string;
  connections: number;
  durationS?: number;
  amount?: number;
}

export interface LoadFigures {
  req_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  duration_s: number;
  requests: number;
  ok_2xx: number;
  non2xx: number;
  errors: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

/** One bounded autocannon run against loopback; latencies are kept per request for p95. */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.body,
    connections: options.connections,
    ...(options.amount === undefined
      ? { duration: options.durationS ?? 15 }
      : { amount: options.amount }),
    timeout: 60,
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const requests = result['2xx'] + result.non2xx;
  return {
    req_per_s: round(requests / result.duration, 1),
    duration_s: round(result.duration),
    p50_ms: round(percentile(latencies, 50)),
    p95_ms: round(percentile(latencies, 95)),
    p99_ms: round(percentile(latencies, 99)),
    requests,
    ok_2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
