import type { SnapshotSerializer } from 'vitest';

const ASSET_HASH = /[0-9a-f]{64}/g;

/** Masks 64-hex asset hashes, which change whenever any file in the image directory does. */
export const assetHashSerializer: SnapshotSerializer = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(ASSET_HASH, '[ASSET HASH]'), config, indentation, depth, refs),
};
