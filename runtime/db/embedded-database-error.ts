/**
 * The embedded database in SLUICE_DATA_DIR could not be opened or brought to the current
 * schema (a damaged or partial `pg` directory, or one a newer Sluice wrote): a directory to
 * fix, so its message is one line naming the variable, the directory and PGlite's reason.
 */
export class EmbeddedDatabaseError extends Error {
  constructor(dataDir: string, failure: unknown) {
    super(
      `SLUICE_DATA_DIR ${JSON.stringify(dataDir)}: the embedded database in its pg directory cannot be opened (${reasonOf(failure)}); if it is damaged, restore a copy or move pg aside to start empty`,
    );
    this.name = 'EmbeddedDatabaseError';
  }
}

/** The innermost message (drizzle wraps PGlite's), on one line and bounded. */
function reasonOf(failure: unknown): string {
  let link = failure;
  for (let depth = 0; link instanceof Error && link.cause instanceof Error && depth < 5; depth++) {
    link = link.cause;
  }
  const message = link instanceof Error ? link.message : (fileSystemError(link) ?? String(link));
  const line = message.split('\n')[0]?.trim() || 'no reason given';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * PGlite's file system throws Emscripten's ErrnoError, `{ name, errno }` with no message and
 * Emscripten's own numbers: a full disk at first start read `[object Object]`.
 */
const EMSCRIPTEN_ERRNO: Record<number, string> = {
  2: 'EACCES, permission denied',
  19: 'EDQUOT, disk quota exceeded',
  29: 'EIO, input/output error',
  44: 'ENOENT, a file is missing',
  51: 'ENOSPC, no space left on the device',
  63: 'EPERM, operation not permitted',
  69: 'EROFS, read-only file system',
};

function fileSystemError(failure: unknown): string | undefined {
  const errno = (failure as { errno?: unknown } | null)?.errno;
  if (typeof errno !== 'number') return undefined;
  return EMSCRIPTEN_ERRNO[errno] ?? `file system error ${errno}`;
}
