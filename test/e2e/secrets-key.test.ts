import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../runtime/db/project-store';
import { NODE_ARGS_BY_ROLE } from '../../runtime/limits';
import { createLocalDataKeys } from '../../runtime/secrets/local-data-keys';
import { createSecretStore } from '../../runtime/secrets/secret-store';
import { createTestDatabase, type TestDatabase } from '../support/database';

let database: TestDatabase;
let dataDir: string;
const writtenWith = randomBytes(32);

/** Runs the bundle as the container does, and gives its exit code and stderr once it ends. */
function runSluice(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...NODE_ARGS_BY_ROLE.all, resolve('dist/main.mjs')], {
    env: {
      PATH: process.env.PATH ?? '',
      SLUICE_ROLE: 'all',
      SLUICE_WORKER_HEALTH_PORT: '0',
      SLUICE_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((done) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      done({ code, stderr });
    }),
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-secrets-key-'));
  const { projectId } = await createProjectWithKey(database.handle.db, {
    name: 'p',
    apiKey: generateApiKey(),
  });
  const store = createSecretStore(database.handle.db, createLocalDataKeys(writtenWith));
  await store.create(projectId, 'TOKEN', 'value');
});
afterAll(async () => {
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('SLUICE_SECRETS_KEY at start-up', () => {
  it('stops with one line when it is not the key the secrets were written with', async () => {
    const { code, stderr } = await runSluice({
      DATABASE_URL: database.url,
      SLUICE_SECRETS_KEY: randomBytes(32).toString('base64'),
    });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'SLUICE_SECRETS_KEY cannot decrypt a stored data key (not the key the secrets were written with)',
    ]);
  });

  it('stops with one line naming it when it is shorter than 32 bytes', async () => {
    const { code, stderr } = await runSluice({
      DATABASE_URL: database.url,
      SLUICE_SECRETS_KEY: randomBytes(16).toString('base64'),
    });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'invalid environment: SLUICE_SECRETS_KEY must be base64 of at least 32 bytes (openssl rand -base64 32)',
    ]);
  });
});
