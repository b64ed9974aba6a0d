import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../runtime/env';

const sqsUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/sluice-runs';
const split = { DATABASE_URL: 'postgres://u@db:5432/sluice', REDIS_URL: 'redis://cache:6379' };

describe('parseEnv', () => {
  it('applies the documented defaults to an empty environment', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      SLUICE_ROLE: 'all',
      SLUICE_WORKER_CONCURRENCY: 1,
      SLUICE_FLOW_TIMEOUT_S: 600,
      SLUICE_WEBHOOK_TIMEOUT_S: 30,
      SLUICE_MAX_WEBHOOK_PAYLOAD_MB: 25,
      SLUICE_MAX_FILE_MB: 25,
      SLUICE_MAX_RUN_LOG_MB: 50,
      SLUICE_STORAGE: 'local',
      SLUICE_SIGNED_URL_TTL_S: 900,
      SLUICE_HTTP_ALLOW_PRIVATE: false,
      publicUrl: 'http://localhost:3000',
    });
    expect(env.maxWebhookPayloadBytes).toBe(25 * 1024 * 1024);
  });

  it.each([
    [{}, 'memory'],
    [{ REDIS_URL: split.REDIS_URL }, 'bullmq'],
    [
      {
        SLUICE_QUEUE: 'sqs',
        SLUICE_SQS_QUEUE_URL: sqsUrl,
        SLUICE_ROLE: 'worker',
        DATABASE_URL: split.DATABASE_URL,
      },
      'sqs',
    ],
  ])('chooses the queue driver for %o: %s', (source, driver) => {
    expect(parseEnv(source).SLUICE_QUEUE).toBe(driver);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535 (got "abc")'],
    [{ SLUICE_ROLE: 'boss' }, 'SLUICE_ROLE must be one of app, worker, all (got "boss")'],
    [{ SLUICE_WORKER_CONCURRENCY: '0' }, 'SLUICE_WORKER_CONCURRENCY must be an integer from 1'],
    [{ SLUICE_HTTP_ALLOW_PRIVATE: 'yes' }, 'SLUICE_HTTP_ALLOW_PRIVATE must be true, false, 1 or 0'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must use postgres or postgresql'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL must be a URL'],
    [{ SLUICE_STORAGE: 's3' }, 'SLUICE_S3_BUCKET is required when SLUICE_STORAGE is s3'],
    [
      { SLUICE_ROLE: 'worker', DATABASE_URL: split.DATABASE_URL },
      'REDIS_URL is required when SLUICE_ROLE is worker',
    ],
    [
      { SLUICE_ROLE: 'app', REDIS_URL: split.REDIS_URL },
      'DATABASE_URL is required when SLUICE_ROLE is app',
    ],
    [
      { REDIS_SENTINELS: 'a:26379' },
      'REDIS_SENTINEL_MASTER is required when REDIS_SENTINELS is set',
    ],
    [{ REDIS_SENTINELS: 'nope' }, 'REDIS_SENTINELS must be host:port'],
    [{ SLUICE_DRAIN_TIMEOUT_S: '130' }, 'SLUICE_DRAIN_TIMEOUT_S must be below 120'],
    [
      {
        SLUICE_QUEUE_UI: 'true',
        REDIS_URL: split.REDIS_URL,
        SLUICE_QUEUE_UI_PASSWORD: 'long-enough-pw',
      },
      'SLUICE_QUEUE_UI_USER is required when SLUICE_QUEUE_UI is true',
    ],
    [
      { SLUICE_QUEUE_UI: 'true', REDIS_URL: split.REDIS_URL, SLUICE_QUEUE_UI_USER: 'ops' },
      'SLUICE_QUEUE_UI_PASSWORD must be at least 12 characters',
    ],
    [{ SLUICE_QUEUE_UI: 'true' }, 'SLUICE_QUEUE_UI needs REDIS_URL'],
    [{ SLUICE_QUEUE: 'kafka' }, 'SLUICE_QUEUE must be one of bullmq, sqs, memory (got "kafka")'],
    [
      { SLUICE_QUEUE: 'sqs', DATABASE_URL: split.DATABASE_URL },
      'SLUICE_SQS_QUEUE_URL is required when SLUICE_QUEUE is sqs',
    ],
    [
      { SLUICE_QUEUE: 'sqs', SLUICE_SQS_QUEUE_URL: sqsUrl },
      'DATABASE_URL is required when SLUICE_QUEUE is sqs',
    ],
    [
      { SLUICE_QUEUE: 'memory', SLUICE_ROLE: 'app', ...split },
      'SLUICE_QUEUE memory needs SLUICE_ROLE=all (got SLUICE_ROLE=app)',
    ],
    [
      { SLUICE_QUEUE: 'memory', SLUICE_ROLE: 'worker', ...split },
      'SLUICE_QUEUE memory needs SLUICE_ROLE=all (got SLUICE_ROLE=worker)',
    ],
    [
      { SLUICE_QUEUE: 'bullmq' },
      'REDIS_URL or REDIS_SENTINELS is required when SLUICE_QUEUE is bullmq',
    ],
    [
      {
        SLUICE_QUEUE: 'sqs',
        SLUICE_SQS_QUEUE_URL: sqsUrl,
        DATABASE_URL: split.DATABASE_URL,
        SLUICE_QUEUE_UI: 'true',
        SLUICE_QUEUE_UI_USER: 'ops',
        SLUICE_QUEUE_UI_PASSWORD: 'long-enough-pw',
      },
      'SLUICE_QUEUE_UI is a BullMQ board and cannot be used when SLUICE_QUEUE is sqs',
    ],
    [
      { SLUICE_SQS_ACCESS_KEY_ID: 'AKIA' },
      'SLUICE_SQS_SECRET_ACCESS_KEY and SLUICE_SQS_ACCESS_KEY_ID must be set together',
    ],
    [{ SLUICE_LOCAL_SIGNING_SECRET: 'short' }, 'SLUICE_LOCAL_SIGNING_SECRET must be at least 32'],
    [
      { SLUICE_WEBHOOK_TOLERANCE_S: '0' },
      'SLUICE_WEBHOOK_TOLERANCE_S must be an integer from 1 to 3600',
    ],
    [{ SLUICE_WEBHOOK_TOLERANCE_S: '5m' }, 'SLUICE_WEBHOOK_TOLERANCE_S must be an integer'],
    [
      { SLUICE_WEBHOOK_SECRET_OVERLAP_S: '-1' },
      'SLUICE_WEBHOOK_SECRET_OVERLAP_S must be an integer from 0 to 2592000',
    ],
  ])('rejects %o with one line naming the variable', (source, message) => {
    let thrown: Error | undefined;
    try {
      parseEnv(source);
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.name).toBe('EnvError');
    expect(thrown?.message).toContain(message);
    expect(thrown?.message).not.toContain('\n');
  });

  it('refuses an SLUICE_API_KEY under 32 characters without echoing it', () => {
    const short = 'sk_guessable_key_1234567';
    expect(() => parseEnv({ SLUICE_API_KEY: short })).toThrow(
      'SLUICE_API_KEY must be at least 32 characters',
    );
    expect(() => parseEnv({ SLUICE_API_KEY: short })).not.toThrow(short);
    expect(parseEnv({ SLUICE_API_KEY: 'x'.repeat(32) }).SLUICE_API_KEY).toHaveLength(32);
  });

  it('accepts webhook timestamps 300 s either way and keeps a replaced secret 15 min by default', () => {
    expect(parseEnv({})).toMatchObject({
      SLUICE_WEBHOOK_TOLERANCE_S: 300,
      SLUICE_WEBHOOK_SECRET_OVERLAP_S: 900,
    });
    expect(
      parseEnv({ SLUICE_WEBHOOK_TOLERANCE_S: '30', SLUICE_WEBHOOK_SECRET_OVERLAP_S: '0' }),
    ).toMatchObject({ SLUICE_WEBHOOK_TOLERANCE_S: 30, SLUICE_WEBHOOK_SECRET_OVERLAP_S: 0 });
  });

  it('turns metrics off by default, publishing every 10 s under the sluice deployment when on', () => {
    expect(parseEnv({})).toMatchObject({
      SLUICE_METRICS: 'off',
      SLUICE_METRICS_INTERVAL_S: 10,
      SLUICE_DEPLOYMENT_NAME: 'sluice',
    });
    expect(parseEnv({ ECS_AGENT_URI: 'http://169.254.170.2/api/abc' }).ECS_AGENT_URI).toBe(
      'http://169.254.170.2/api/abc',
    );
  });

  it.each([
    [
      { SLUICE_METRICS: 'statsd' },
      'SLUICE_METRICS must be one of off, cloudwatch, emf (got "statsd")',
    ],
    [
      { SLUICE_METRICS_INTERVAL_S: '0' },
      'SLUICE_METRICS_INTERVAL_S must be an integer from 1 to 3600',
    ],
    [{ ECS_AGENT_URI: 'agent' }, 'ECS_AGENT_URI must be a URL'],
  ])('rejects bad metrics settings %j', (source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });

  it('reads "false" as false, which z.coerce.boolean would not', () => {
    expect(parseEnv({ SLUICE_HTTP_ALLOW_PRIVATE: 'false' }).SLUICE_HTTP_ALLOW_PRIVATE).toBe(false);
    expect(parseEnv({ SLUICE_HTTP_ALLOW_PRIVATE: '1' }).SLUICE_HTTP_ALLOW_PRIVATE).toBe(true);
  });

  it('accepts split roles when PostgreSQL and Redis are configured', () => {
    expect(parseEnv({ ...split, SLUICE_ROLE: 'worker' }).SLUICE_ROLE).toBe('worker');
    const sentinel = parseEnv({
      DATABASE_URL: split.DATABASE_URL,
      SLUICE_ROLE: 'app',
      REDIS_SENTINELS: 's1:26379,s2:26380',
      REDIS_SENTINEL_MASTER: 'mymaster',
    });
    expect(sentinel.REDIS_SENTINELS).toEqual([
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
    ]);
  });
});
