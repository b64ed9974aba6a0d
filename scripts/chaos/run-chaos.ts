import { type ChaosQueue, startChaosCluster } from './cluster';
import { type ChaosLine, runScenario, scenarios } from './scenarios';

export interface ChaosOptions {
  /** CI sizes: a few hundred runs and short outages instead of 2,000 runs and 10 s. */
  small: boolean;
  only?: string[] | undefined;
  /** @default 'bullmq' */
  queue?: ChaosQueue;
  onLine?: (line: ChaosLine) => void;
}

/** Starts one cluster and runs the scenarios one after another, each on its own flow. */
export async function runChaos({
  small,
  only,
  queue = 'bullmq',
  onLine,
}: ChaosOptions): Promise<ChaosLine[]> {
  const cluster = await startChaosCluster(
    3,
    {
      stalledAfterS: small ? 2 : 5,
      reconcileIntervalS: 1,
      reconcileAfterS: small ? 2 : 5,
      stubDelayMs: small ? 20 : 50,
    },
    queue,
  );
  const lines: ChaosLine[] = [];
  try {
    const all = scenarios(
      small
        ? { workerKillRuns: 150, runs: 60, ratePerS: 30, s3OutageMs: 3000, sqsOutageMs: 3000 }
        : {
            workerKillRuns: 2000,
            runs: 600,
            ratePerS: 40,
            s3OutageMs: 10_000,
            sqsOutageMs: 10_000,
          },
      queue,
    );
    for (const scenario of all.filter((s) => only === undefined || only.includes(s.name))) {
      const line = await runScenario(cluster, scenario, small ? 30_000 : 120_000);
      lines.push(line);
      onLine?.(line);
    }
  } finally {
    await cluster.close();
  }
  return lines;
}
