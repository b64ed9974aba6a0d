import { InvalidStorageKeyError } from './invalid-storage-key-error';

export const STORAGE_KINDS = ['FILE', 'RUN_LOG', 'STEP_FILE', 'PACKAGE_ARCHIVE'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

export interface StorageKeyParts {
  projectId: string;
  kind: StorageKind;
  id: string;
}

// 200 leaves room under the usual 255-byte file-name limit for the local driver's
// `.json` metadata suffix, and keeps whole keys far below S3's 1024 bytes.
const MAX_SEGMENT_LENGTH = 200;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function assertSegment(name: 'projectId' | 'id', value: string): void {
  const problem =
    value.length === 0
      ? 'must not be empty'
      : value.length > MAX_SEGMENT_LENGTH
        ? `must be at most ${MAX_SEGMENT_LENGTH} characters`
        : value.includes('/') || value.includes('\\')
          ? 'must not contain a slash'
          : value.includes('..') || value === '.'
            ? "must not be '.' or contain '..'"
            : CONTROL_CHARACTERS.test(value)
              ? 'must not contain control characters'
              : undefined;
  if (problem)
    throw new InvalidStorageKeyError(`${name} ${problem} (got ${JSON.stringify(value)})`);
}

function isStorageKind(value: string): value is StorageKind {
  return (STORAGE_KINDS as readonly string[]).includes(value);
}

/**
 * The one place keys are built: `project/{projectId}/{KIND}/{id}`. Both parts are
 * checked so that a key can never name anything outside its project's prefix.
 */
export function storageKey(projectId: string, kind: StorageKind, id: string): string {
  assertSegment('projectId', projectId);
  if (!isStorageKind(kind)) {
    throw new InvalidStorageKeyError(
      `kind must be one of ${STORAGE_KINDS.join(', ')} (got ${kind})`,
    );
  }
  assertSegment('id', id);
  return `project/${projectId}/${kind}/${id}`;
}

/** Splits a key built by `storageKey`; throws InvalidStorageKeyError for anything else. */
export function parseStorageKey(key: string): StorageKeyParts {
  const parts = key.split('/');
  const [root, projectId, kind, id] = parts;
  if (parts.length !== 4 || root !== 'project' || projectId === undefined || id === undefined) {
    throw new InvalidStorageKeyError(
      `storage key must look like project/{projectId}/{KIND}/{id} (got ${JSON.stringify(key)})`,
    );
  }
  if (kind === undefined || !isStorageKind(kind)) {
    throw new InvalidStorageKeyError(
      `storage key kind must be one of ${STORAGE_KINDS.join(', ')} (got ${JSON.stringify(kind)})`,
    );
  }
  storageKey(projectId, kind, id);
  return { projectId, kind, id };
}
