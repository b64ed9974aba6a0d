import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { deleteExpiredFiles, deleteExpiredRuns } from '../db/retention-store';
import type { FileStore } from '../storage';

export interface RetentionPrunerDeps {
  db: Database;
  store: Pick<FileStore, 'deleteMany'>;
  logger: Logger;
  /** SLUICE_RUN_RETENTION_DAYS: ended runs older than this go, unless their flow says otherwise. */
  runRetentionDays: number;
  /** SLUICE_FILE_RETENTION_DAYS: uploaded files older than this go; 0 keeps them forever. */
  fileRetentionDays: number;
  /**
   * Rows one statement deletes: each batch is its own short transaction.
   * @default 1000
   */
  batchSize?: number;
  /**
   * Batches one pass runs at most, so a pass over a big backlog ends and the next picks up.
   * @default 20
   */
  maxBatchesPerPass?: number;
}

export interface PrunePass {
  runs: number;
  files: number;
}

/**
 * Retention, run by the APP holding the reconciler lease after each reconcile pass. Rows go
 * first, then their objects (S3 DeleteObjects, 100 keys a request): an object whose delete
 * fails is left to the bucket's lifecycle rule, never a row pointing at a deleted object.
 * A failed delete ends that kind's batches for the pass: the reconciler waits for the pass,
 * and a hung S3 fails each request only after its bounded attempts (about 30 s), so going on
 * would hold reconciling that long for every batch. What is not reached waits for a later pass.
 */
export function createRetentionPruner(deps: RetentionPrunerDeps) {
  const batchSize = deps.batchSize ?? 1000;
  const maxBatches = deps.maxBatchesPerPass ?? 20;

  /** False when storage failed the delete. */
  const removeObjects = async (keys: string[]): Promise<boolean> => {
    if (keys.length === 0) return true;
    try {
      await deps.store.deleteMany(keys);
      return true;
    } catch (error) {
      deps.logger.warn({ err: error, keys: keys.length }, 'pruned objects not deleted');
      return false;
    }
  };

  return async function pruneOnce(): Promise<PrunePass> {
    const pass: PrunePass = { runs: 0, files: 0 };
    for (let batch = 0; batch < maxBatches; batch++) {
      const { deleted, logKeys } = await deleteExpiredRuns(
        deps.db,
        deps.runRetentionDays,
        batchSize,
      );
      pass.runs += deleted;
      if (!(await removeObjects(logKeys)) || deleted < batchSize) break;
    }
    if (deps.fileRetentionDays > 0) {
      for (let batch = 0; batch < maxBatches; batch++) {
        const keys = await deleteExpiredFiles(deps.db, deps.fileRetentionDays, batchSize);
        pass.files += keys.length;
        if (!(await removeObjects(keys)) || keys.length < batchSize) break;
      }
    }
    if (pass.runs + pass.files > 0) deps.logger.info(pass, 'retention pruned');
    return pass;
  };
}
