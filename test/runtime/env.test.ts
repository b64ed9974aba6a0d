import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../runtime/env';
import { ALB_IDLE_TIMEOUT_S } from '../../runtime/limits';

const sqsUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/sluice-runs';
const split = { DATABASE_URL: 'postgres://u@db:5432/sluice', REDIS_URL: 'redis://cache:6379' };

describe('parseEnv', () => {
  it('releases idle PostgreSQL sessions after 60 s by default, and never with SLUICE_IDLE_RELEASE_S=0', () => {
    const sqs = {
      SLUICE_QUEUE: 'sqs',
      SLUICE_SQS_QUEUE_URL: sqsUrl,
      DATABASE_URL: split.DATABASE_URL,
    };
    expect(parseEnv(sqs).SLUICE_IDLE_RELEASE_S).toBe(60);
    // Off: idle pool connections may then stay open for good.
    expect(
      parseEnv({ ...sqs, SLUICE_IDLE_RELEASE_S: '0', SLUICE_DB_IDLE_TIMEOUT_MS: '0' })
        .SLUICE_IDLE_RELEASE_S,
    ).toBe(0);
    // The other queues keep nothing open on the database's behalf: no rule applies.
    expect(parseEnv({ ...split, SLUICE_DB_IDLE_TIMEOUT_MS: '0' }).SLUICE_DB_IDLE_TIMEOUT_MS).toBe(
      0,
    );
  });

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
      SLUICE_INLINE_LOG_MAX_BYTES: 65_536,
      SLUICE_STORAGE: 'local',
      SLUICE_SIGNED_URL_TTL_S: 900,
      SLUICE_CONSOLE_SESSION_TTL_H: 12,
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
    [
      { SLUICE_INLINE_LOG_MAX_BYTES: '2000000' },
      'SLUICE_INLINE_LOG_MAX_BYTES must be an integer from 0 to 1048576 (got "2000000")',
    ],
    [
      { SLUICE_INLINE_LOG_MAX_BYTES: '-1' },
      'SLUICE_INLINE_LOG_MAX_BYTES must be an integer from 0 to 1048576 (got "-1")',
    ],
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
    [
      { REDIS_URL: split.REDIS_URL, REDIS_SENTINEL_MASTER: 'mymaster' },
      'REDIS_SENTINEL_MASTER is only used with REDIS_SENTINELS, which is not set',
    ],
    [
      { REDIS_URL: split.REDIS_URL, REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_URL and REDIS_SENTINELS cannot both be set',
    ],
    [{ SLUICE_DRAIN_TIMEOUT_S: '130' }, 'SLUICE_DRAIN_TIMEOUT_S must be at most 114'],
    [{ SLUICE_DRAIN_TIMEOUT_S: '115' }, 'SLUICE_DRAIN_TIMEOUT_S must be at most 114'],
    [{ SLUICE_CANCEL_POLL_MS: '10' }, 'SLUICE_CANCEL_POLL_MS must be an integer from 50 to 5000'],
    [
      { SLUICE_SCHEDULE_MIN_INTERVAL_S: '0' },
      'SLUICE_SCHEDULE_MIN_INTERVAL_S must be an integer from 1 to 86400',
    ],
    [
      { SLUICE_SCHEDULE_MISSED_WINDOW_S: 'soon' },
      'SLUICE_SCHEDULE_MISSED_WINDOW_S must be an integer from 0 to 86400',
    ],
    [
      { SLUICE_DB_QUERY_TIMEOUT_MS: '50' },
      'SLUICE_DB_QUERY_TIMEOUT_MS must be an integer from 100',
    ],
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
      {
        SLUICE_QUEUE: 'sqs',
        SLUICE_SQS_QUEUE_URL: sqsUrl,
        DATABASE_URL: split.DATABASE_URL,
        SLUICE_DB_IDLE_TIMEOUT_MS: '0',
      },
      'SLUICE_DB_IDLE_TIMEOUT_MS must be from 1 to SLUICE_IDLE_RELEASE_S × 1000 (60000) when SLUICE_QUEUE is sqs',
    ],
    [
      {
        SLUICE_QUEUE: 'sqs',
        SLUICE_SQS_QUEUE_URL: sqsUrl,
        DATABASE_URL: split.DATABASE_URL,
        SLUICE_IDLE_RELEASE_S: '5',
        SLUICE_DB_IDLE_TIMEOUT_MS: '10000',
      },
      'SLUICE_DB_IDLE_TIMEOUT_MS must be from 1 to SLUICE_IDLE_RELEASE_S × 1000 (5000) when SLUICE_QUEUE is sqs',
    ],
    [{ SLUICE_IDLE_RELEASE_S: '3601' }, 'SLUICE_IDLE_RELEASE_S must be an integer from 0 to 3600'],
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
      { SLUICE_CONSOLE_SESSION_TTL_H: '0' },
      'SLUICE_CONSOLE_SESSION_TTL_H must be an integer from 1 to 720',
    ],
    [
      { SLUICE_AUTH_FAILURE_LIMIT: '0' },
      'SLUICE_AUTH_FAILURE_LIMIT must be an integer from 1 to 100000',
    ],
    [
      { SLUICE_TRUSTED_PROXY_HOPS: 'all' },
      'SLUICE_TRUSTED_PROXY_HOPS must be an integer from 0 to 10',
    ],
    [
      { SLUICE_WEBHOOK_SECRET_OVERLAP_S: '-1' },
      'SLUICE_WEBHOOK_SECRET_OVERLAP_S must be an integer from 0 to 2592000',
    ],
    // Found by an audit of the environment (2026-12-04): each of these passed, then failed later
    // with a stack, a hang or a broken setting.
    [
      {
        DATABASE_URL: 'postgres://%E0@127.0.0.1/x',
        SLUICE_DB_ADMIN_URL: 'postgres://postgres@127.0.0.1/x',
      },
      'DATABASE_URL has a user name that is not valid %-encoding',
    ],
    [{ DATABASE_URL: 'postgres:' }, 'DATABASE_URL must name a host'],
    [{ DATABASE_URL: 'postgres:foo' }, 'DATABASE_URL must name a host'],
    [
      { DATABASE_URL: 'postgres://u@127.0.0.1/x?sslmode=bogus' },
      'DATABASE_URL has sslmode "bogus"; use one of disable, prefer, require',
    ],
    [{ REDIS_URL: 'redis:' }, 'REDIS_URL must name a host'],
    [
      { SLUICE_DATA_DIR: '   ' },
      'SLUICE_DATA_DIR must not start or end with white space (got "   ")',
    ],
    [
      { SLUICE_DATA_DIR: '/var/sluice\n' },
      'SLUICE_DATA_DIR must not start or end with white space (got "/var/sluice\\n")',
    ],
    [
      { REDIS_URL: 'redis://127.0.0.1/99' },
      'REDIS_URL must name a database from 0 to 15 as its path, or none (got "/99")',
    ],
    [{ REDIS_URL: 'redis://127.0.0.1/abc' }, 'REDIS_URL must name a database from 0 to 15'],
    [
      { REDIS_SENTINELS: '127.0.0.1:99999', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINELS must be host:port[,host:port...] with ports from 1 to 65535',
    ],
    [
      { REDIS_SENTINELS: '127.0.0.1:0', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINELS must be host:port[,host:port...] with ports from 1 to 65535',
    ],
    [
      { SLUICE_API_KEY: ' '.repeat(40) },
      'SLUICE_API_KEY must be at least 32 characters of printable ASCII, without spaces',
    ],
    [
      { SLUICE_PUBLIC_URL: 'https://x.example/?a=b' },
      'SLUICE_PUBLIC_URL must have no query or fragment',
    ],
    [
      { PORT: '35901', SLUICE_WORKER_HEALTH_PORT: '35901' },
      'SLUICE_WORKER_HEALTH_PORT must differ from PORT when SLUICE_ROLE is all (both 35901)',
    ],
    [
      { SLUICE_SECRETS_KMS_KEY_ID: 'alias/sluice' },
      'AWS_REGION is required when SLUICE_SECRETS_KMS_KEY_ID is set',
    ],
    [{ SLUICE_ROLE: 'x\ny' }, 'SLUICE_ROLE must be one of app, worker, all (got "x\\ny")'],
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

  it('reads SLUICE_PUBLIC_URL as the URL parser does: no spaces around, scheme lowercased', () => {
    expect(parseEnv({ SLUICE_PUBLIC_URL: ' HTTPS://X.example/base/ ' }).publicUrl).toBe(
      'https://x.example/base',
    );
    expect(parseEnv({ SLUICE_PUBLIC_URL: 'http:x' }).publicUrl).toBe('http://x');
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

  it('gives each deployment its own queue prefix unless SLUICE_QUEUE_PREFIX keeps an old one', () => {
    expect(parseEnv({}).SLUICE_QUEUE_PREFIX).toBe('{sluice:sluice}');
    expect(parseEnv({ SLUICE_DEPLOYMENT_NAME: 'Prod' }).SLUICE_QUEUE_PREFIX).toBe('{sluice:Prod}');
    // The upgrade path: an existing deployment pins the prefix it has always used.
    expect(
      parseEnv({ SLUICE_DEPLOYMENT_NAME: 'Prod', SLUICE_QUEUE_PREFIX: '{sluice}' })
        .SLUICE_QUEUE_PREFIX,
    ).toBe('{sluice}');
    expect(() => parseEnv({ SLUICE_DEPLOYMENT_NAME: 'a}b' })).toThrow(
      'SLUICE_DEPLOYMENT_NAME must not contain { or } while SLUICE_QUEUE_PREFIX is unset',
    );
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

describe('database access settings', () => {
  const aws = {
    DATABASE_URL: 'postgres://sluice_app@db.internal:5432/sluice?sslmode=verify-full',
    SLUICE_DB_CA: 'rds',
    SLUICE_DB_AUTH: 'iam',
    AWS_REGION: 'eu-west-1',
  };
  const admin = {
    SLUICE_DB_ADMIN_URL: 'postgres://sluice@db.internal:5432/sluice?sslmode=verify-full',
    SLUICE_DB_ADMIN_PASSWORD: 'master-secret',
  };

  it('uses passwords, the URL’s TLS and a 5-minute schema wait by default', () => {
    const env = parseEnv(split);
    expect(env.SLUICE_DB_AUTH).toBe('password');
    expect(env.SLUICE_DB_CA).toBeUndefined();
    expect(env.SLUICE_DB_ADMIN_URL).toBeUndefined();
    expect(env.SLUICE_DB_SCHEMA_WAIT_S).toBe(300);
  });

  it('accepts the AWS shape: IAM auth and the RDS CA, with the admin URL on the APP only', () => {
    expect(parseEnv({ ...aws, ...admin }).SLUICE_DB_AUTH).toBe('iam');
    expect(parseEnv(aws).SLUICE_DB_CA).toBe('rds');
  });

  it.each([
    [{ ...aws, SLUICE_DB_CA: 'amazon' }, 'SLUICE_DB_CA must be rds, or unset for the system CAs'],
    [{ ...aws, SLUICE_DB_AUTH: 'token' }, 'SLUICE_DB_AUTH must be one of password, iam'],
    [{ ...aws, AWS_REGION: '' }, 'AWS_REGION is required when SLUICE_DB_AUTH is iam'],
    [{ ...aws, SLUICE_DB_PASSWORD: 'pw' }, 'SLUICE_DB_PASSWORD must be unset when SLUICE_DB_AUTH'],
    [{ SLUICE_DB_AUTH: 'iam' }, 'SLUICE_DB_AUTH needs DATABASE_URL'],
    [{ SLUICE_DB_PASSWORD: 'pw' }, 'SLUICE_DB_PASSWORD needs DATABASE_URL'],
    [{ SLUICE_DB_ADMIN_PASSWORD: 'pw' }, 'SLUICE_DB_ADMIN_PASSWORD needs DATABASE_URL'],
    [
      { ...aws, SLUICE_DB_ADMIN_PASSWORD: 'pw' },
      'SLUICE_DB_ADMIN_PASSWORD needs SLUICE_DB_ADMIN_URL',
    ],
    [
      { ...aws, ...admin, DATABASE_URL: 'postgres://db.internal/sluice' },
      'DATABASE_URL must name the runtime role as its user',
    ],
    [
      { ...aws, ...admin, DATABASE_URL: 'postgres://Robert%27);drop@db.internal/sluice' },
      'DATABASE_URL must name the runtime role as its user',
    ],
    [
      { ...aws, SLUICE_DB_ADMIN_URL: 'postgres://sluice_app@db.internal/sluice' },
      'SLUICE_DB_ADMIN_URL must name another user than DATABASE_URL',
    ],
    [{ ...aws, SLUICE_DB_SCHEMA_WAIT_S: '0' }, 'SLUICE_DB_SCHEMA_WAIT_S must be an integer from 1'],
  ])('rejects %o with one line naming the variable', (source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });
});

describe('signed URL lifetime', () => {
  const s3 = { SLUICE_STORAGE: 's3', SLUICE_S3_BUCKET: 'files' };

  it('refuses a TTL the task-role credentials that sign the URL could not honour', () => {
    expect(() => parseEnv({ ...s3, SLUICE_SIGNED_URL_TTL_S: '3601' })).toThrow(
      'SLUICE_SIGNED_URL_TTL_S must be at most 3600 when S3 URLs are signed with task-role credentials',
    );
    expect(parseEnv({ ...s3, SLUICE_SIGNED_URL_TTL_S: '3600' }).SLUICE_SIGNED_URL_TTL_S).toBe(3600);
  });

  it('allows up to 7 days where nothing temporary signs: static keys or local storage', () => {
    const week = String(7 * 86_400);
    const keys = { SLUICE_S3_ACCESS_KEY_ID: 'id', SLUICE_S3_SECRET_ACCESS_KEY: 'secret' };
    expect(
      parseEnv({ ...s3, ...keys, SLUICE_SIGNED_URL_TTL_S: week }).SLUICE_SIGNED_URL_TTL_S,
    ).toBe(7 * 86_400);
    expect(parseEnv({ SLUICE_SIGNED_URL_TTL_S: week }).SLUICE_SIGNED_URL_TTL_S).toBe(7 * 86_400);
  });
});

describe('worker liveness port', () => {
  it('listens on 3001 by default, and 0 turns it off', () => {
    expect(parseEnv({}).SLUICE_WORKER_HEALTH_PORT).toBe(3001);
    expect(parseEnv({ SLUICE_WORKER_HEALTH_PORT: '0' }).SLUICE_WORKER_HEALTH_PORT).toBe(0);
    expect(() => parseEnv({ SLUICE_WORKER_HEALTH_PORT: '70000' })).toThrow(
      'SLUICE_WORKER_HEALTH_PORT must be an integer from 0 to 65535',
    );
  });
});

describe('load balancer idle timeout', () => {
  it('is the stack’s ALB_IDLE_TIMEOUT_S unless the deployment says otherwise, within the ALB’s range', () => {
    expect(parseEnv({}).SLUICE_ALB_IDLE_TIMEOUT_S).toBe(ALB_IDLE_TIMEOUT_S);
    expect(parseEnv({ SLUICE_ALB_IDLE_TIMEOUT_S: '300' }).SLUICE_ALB_IDLE_TIMEOUT_S).toBe(300);
    expect(() => parseEnv({ SLUICE_ALB_IDLE_TIMEOUT_S: '4001' })).toThrow(
      'SLUICE_ALB_IDLE_TIMEOUT_S must be an integer from 1 to 4000',
    );
  });
});
