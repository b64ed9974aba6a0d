import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { generateApiKey, seedFirstApiKey } from '../db/project-store';
import type { Env } from '../env';

/**
 * The first key: SLUICE_API_KEY when set; in embedded mode a generated one, printed once
 * (only its hash is stored, so it cannot be shown again).
 */
export async function seedApiKey(env: Env, db: Database, logger: Logger): Promise<void> {
  if (env.SLUICE_API_KEY !== undefined) {
    if (await seedFirstApiKey(db, env.SLUICE_API_KEY))
      logger.info('seeded api key from SLUICE_API_KEY');
    return;
  }
  if (env.DATABASE_URL !== undefined) return;
  const generated = generateApiKey();
  if (await seedFirstApiKey(db, generated)) {
    process.stdout.write(
      `\n  Sluice API key (shown once, save it): ${generated}\n  export SLUICE_KEY=${generated}\n\n`,
    );
  }
}
