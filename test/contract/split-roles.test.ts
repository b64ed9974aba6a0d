import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { createTestDatabase, randomQueuePrefix, type TestDatabase } from '../support/database';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';
import type { Fixtures } from './contract-cases';
import { createFixtures, describeContract, START_TIMEOUT_MS, UNTHROTTLED } from './contract-suite';

/** An app and a worker from dist/, on PostgreSQL and Redis, called over real sockets. */
const API_KEY = 'sk_contract_split_key_0123456789';
const QUEUE_UI = { user: 'board', password: 'board-password-0123' };

let database: TestDatabase;
let dataDir: string;
let processes: SluiceProcess[] = [];
let base: string;
let fixtures: Fixtures;

beforeAll(async () => {
  [database, dataDir] = await Promise.all([
    createTestDatabase({ migrate: false }),
    mkdtemp(join(tmpdir(), 'sluice-contract-')),
  ]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const shared = {
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    SLUICE_QUEUE_PREFIX: randomQueuePrefix(),
    // The local driver on one directory: the app serves the signed URLs of what both write.
    SLUICE_STORAGE: 'local',
    SLUICE_DATA_DIR: dataDir,
    SLUICE_PUBLIC_URL: base,
    SLUICE_WEBHOOK_TIMEOUT_S: '5',

    ...UNTHROTTLED,
  };
  processes = await Promise.all([
    startSluice(
      {
        ...shared,
        SLUICE_ROLE: 'app',
        PORT: String(port),
        HOST: '127.0.0.1',
        SLUICE_API_KEY: API_KEY,
        SLUICE_QUEUE_UI: 'true',
        SLUICE_QUEUE_UI_USER: QUEUE_UI.user,
        SLUICE_QUEUE_UI_PASSWORD: QUEUE_UI.password,
      },
      START_TIMEOUT_MS,
    ),
    startSluice({ ...shared, SLUICE_ROLE: 'worker' }, START_TIMEOUT_MS),
  ]);
  fixtures = await createFixtures(base, API_KEY);
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await database?.drop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('the API of split roles (app + worker), over HTTP', () => {
  describeContract({ mode: 'split', queueUi: QUEUE_UI }, () => ({ base, fixtures }));
});
