import { describe, expect, it } from 'vitest';
import {
  InvalidStorageKeyError,
  parseStorageKey,
  STORAGE_KINDS,
  storageKey,
} from '../../../runtime/storage';

const UNSAFE_PARTS = [
  '',
  'a/b',
  'a\\b',
  '..',
  '.',
  'x..y',
  'tab\there',
  'nul\u0000',
  'x'.repeat(201),
];

describe('storageKey', () => {
  it('builds project/{projectId}/{KIND}/{id} for every kind', () => {
    expect(STORAGE_KINDS.map((kind) => storageKey('p1', kind, 'f-1.csv'))).toEqual([
      'project/p1/FILE/f-1.csv',
      'project/p1/RUN_LOG/f-1.csv',
      'project/p1/STEP_FILE/f-1.csv',
      'project/p1/PACKAGE_ARCHIVE/f-1.csv',
    ]);
  });

  it.each(UNSAFE_PARTS)('refuses the project id %j', (projectId) => {
    expect(() => storageKey(projectId, 'FILE', 'f1')).toThrow(InvalidStorageKeyError);
  });

  it.each(UNSAFE_PARTS)('refuses the id %j', (id) => {
    expect(() => storageKey('p1', 'FILE', id)).toThrow(InvalidStorageKeyError);
  });

  it('refuses a kind outside the four', () => {
    expect(() => storageKey('p1', 'SECRETS' as never, 'f1')).toThrow(/kind must be one of/);
  });

  it('names the part and the value it refused', () => {
    expect(() => storageKey('p1', 'FILE', '../x')).toThrow(
      'id must not contain a slash (got "../x")',
    );
  });
});

describe('parseStorageKey', () => {
  it('splits a key built by storageKey back into its parts', () => {
    expect(parseStorageKey(storageKey('p1', 'RUN_LOG', 'r1.log'))).toEqual({
      projectId: 'p1',
      kind: 'RUN_LOG',
      id: 'r1.log',
    });
  });

  it.each([
    'project/p1/FILE',
    'project/p1/FILE/a/b',
    'projects/p1/FILE/a',
    'project/p1/file/a',
    'project/../FILE/a',
    '/project/p1/FILE/a',
  ])('refuses %j', (key) => {
    expect(() => parseStorageKey(key)).toThrow(InvalidStorageKeyError);
  });
});
