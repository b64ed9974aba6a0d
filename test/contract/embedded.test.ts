import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { freePort, type SluiceProcess, startSluice } from '../support/processes';
import type { Fixtures } from './contract-cases';
import { createFixtures, describeContract, START_TIMEOUT_MS, UNTHROTTLED } from './contract-suite';

/** SLUICE_ROLE=all with no services (PGlite, in-process queue, local files), over HTTP. */
const API_KEY = 'sk_contract_embedded_key_0123456789';

let sluice: SluiceProcess | undefined;
let dataDir: string;
let base: string;
let fixtures: Fixtures;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-contract-embedded-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  sluice = await startSluice(
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      SLUICE_PUBLIC_URL: base,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_API_KEY: API_KEY,
      ...UNTHROTTLED,
    },
    START_TIMEOUT_MS,
  );
  fixtures = await createFixtures(base, API_KEY);
}, 180_000);

afterAll(async () => {
  await sluice?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('the API of the embedded all role, over HTTP', () => {
  describeContract({ mode: 'embedded' }, () => ({ base, fixtures }));
});
