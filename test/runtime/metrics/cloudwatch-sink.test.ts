import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRIC } from '../../../runtime/limits';
import { createCloudWatchSink } from '../../../runtime/metrics/cloudwatch-sink';
import { startMetricsLoop } from '../../../runtime/metrics/metrics-loop';
import { createRunMetrics } from '../../../runtime/metrics/run-metrics';
import { type HttpStub, startHttpStub } from '../../support/http-stub';

/** The CloudWatch control plane is the one thing faked: a local stub at the client's endpoint. */
let stub: HttpStub;

const sinkFor = (endpoint: string, requestTimeoutMs?: number) =>
  createCloudWatchSink({
    namespace: 'Sluice',
    dimensionName: 'Deployment',
    deploymentName: 'test-deploy',
    region: 'eu-west-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    requestTimeoutMs,
  });

interface PutMetricDataBody {
  Namespace: string;
  MetricData: {
    MetricName: string;
    Dimensions: { Name: string; Value: string }[];
    Value?: number;
    Values?: number[];
    Counts?: number[];
    StorageResolution: number;
    Unit: string;
  }[];
}

beforeEach(async () => {
  stub = await startHttpStub();
});

afterEach(async () => {
  await stub.close();
});

describe('cloudwatch metric driver', () => {
  it('sends one PutMetricData per tick with names, values, StorageResolution=1 and the deployment dimension', async () => {
    const sink = sinkFor(stub.url);
    await sink.publish(
      [
        { name: METRIC.queueWaiting, unit: 'Count', values: [7] },
        { name: METRIC.backlogPerWorker, unit: 'None', values: [3.5] },
        { name: METRIC.runDurationMs, unit: 'Milliseconds', values: [120, 450], counts: [3, 1] },
      ],
      new Date('2026-01-01T00:00:00Z'),
    );

    expect(stub.requests).toHaveLength(1);
    const [request] = stub.requests;
    // This SDK line speaks CloudWatch's JSON 1.0 protocol, query-compatible.
    expect(request?.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(request?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\//);
    const body = JSON.parse(request?.body ?? '{}') as PutMetricDataBody;
    expect(body.Namespace).toBe('Sluice');
    expect(body.MetricData.map((d) => d.MetricName)).toEqual([
      'QueueWaiting',
      'BacklogPerWorker',
      'RunDurationMs',
    ]);
    for (const datum of body.MetricData) {
      expect(datum.StorageResolution).toBe(1);
      expect(datum.Dimensions).toEqual([{ Name: 'Deployment', Value: 'test-deploy' }]);
    }
    expect(body.MetricData[0]).toMatchObject({ Value: 7, Unit: 'Count' });
    expect(body.MetricData[1]).toMatchObject({ Value: 3.5, Unit: 'None' });
    expect(body.MetricData[2]).toMatchObject({
      Values: [120, 450],
      Counts: [3, 1],
      Unit: 'Milliseconds',
    });
  });

  it('publishes run outcomes recorded in memory as counts and a duration distribution', async () => {
    const runs = createRunMetrics();
    runs.recordRun('succeeded', 100);
    runs.recordRun('succeeded', 100);
    runs.recordRun('failed', 40);
    runs.recordRun('timed_out', 2000);
    runs.recordSyncWebhook(35.4);
    await sinkFor(stub.url).publish(runs.drain(), new Date());

    const body = JSON.parse(stub.requests[0]?.body ?? '{}') as PutMetricDataBody;
    const byName = Object.fromEntries(body.MetricData.map((d) => [d.MetricName, d]));
    expect(byName.RunsSucceeded?.Value).toBe(2);
    expect(byName.RunsFailed?.Value).toBe(1);
    expect(byName.RunsTimedOut?.Value).toBe(1);
    expect(byName.RunDurationMs).toMatchObject({ Values: [100, 40, 2000], Counts: [2, 1, 1] });
    expect(byName.SyncWebhookLatencyMs).toMatchObject({ Values: [35], Counts: [1] });
    expect(runs.drain()).toEqual([]);
  });

  it('logs a failing CloudWatch with back-off and keeps running', async () => {
    stub.respond(() => ({
      status: 500,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({ __type: 'InternalServiceFault', message: 'down' }),
    }));
    const warnings: { failures: number; retryInMs: number; msg: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => warnings.push(JSON.parse(line) as (typeof warnings)[number]) },
    );
    const runs = createRunMetrics();
    const startedAt = Date.now();
    const loop = startMetricsLoop({
      sink: sinkFor(stub.url),
      intervalMs: 200,
      drainRunMetrics: () => {
        runs.recordRun('succeeded', 5);
        return runs.drain();
      },
      logger,
    });
    // Four failed publishes, waited for (not counted after a fixed sleep).
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThanOrEqual(4), {
      timeout: 15_000,
      interval: 20,
    });
    stub.respond(() => ({ status: 200, body: '{}' }));
    await loop.close();

    // One warning per back-off step, each doubling the pause: 1, 2, 4, 8 intervals.
    expect(warnings.slice(0, 4)).toEqual(
      [1, 2, 4, 8].map((skip, i) =>
        expect.objectContaining({
          msg: 'metrics not published',
          failures: i + 1,
          retryInMs: skip * 200,
        }),
      ),
    );
    // The SDK retries each call once (maxAttempts 2): attempt k is requests 2k and 2k + 1.
    // Attempt k cannot start before the pauses of the attempts before it have passed since the
    // loop started (a busy box can only make it later): 200, 600, 1400 ms; without the pauses
    // a tick every 200 ms would reach attempt 3 by about 600 ms.
    const attemptAt = (k: number) => stub.requests[2 * k]?.at ?? Number.NaN;
    for (const k of [1, 2, 3]) {
      expect(attemptAt(k) - startedAt).toBeGreaterThanOrEqual(200 * (2 ** k - 1));
    }
  });

  it('gives up on a CloudWatch that never answers, so the next ticks still publish', async () => {
    // Accepts every PutMetricData and never answers, as a hung endpoint or network path does.
    stub.respond(() => ({ status: -1, body: '' }));
    let tick = 0;
    const loop = startMetricsLoop({
      sink: sinkFor(stub.url, 300),
      intervalMs: 200,
      drainRunMetrics: () => [{ name: METRIC.queueWaiting, unit: 'Count', values: [++tick] }],
      logger: pino({ level: 'silent' }),
    });
    const published = () =>
      stub.requests.map(
        (r) => (JSON.parse(r.body) as PutMetricDataBody).MetricData[0]?.Value ?? Number.NaN,
      );
    await vi.waitFor(() => expect(published()).toContain(1), { timeout: 5000, interval: 20 });
    stub.respond(() => ({ status: 200, body: '{}' }));
    // The hung call fails within its bound and the loop goes on: a later tick's value reaches
    // CloudWatch (without a bound, every later tick waited on the first call, for good).
    await vi.waitFor(() => expect(Math.max(...published())).toBeGreaterThan(1), {
      timeout: 10_000,
      interval: 20,
    });
    await loop.close();
  });
});
