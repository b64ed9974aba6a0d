export type { FileStore, StoredObjectInfo } from './file-store';
export { InvalidStorageKeyError } from './invalid-storage-key-error';
export { parseStorageKey, STORAGE_KINDS, type StorageKind, storageKey } from './keys';
export { lazyFileStore } from './lazy-file-store';
export { createLocalFileStore, type LocalFileStore } from './local-file-store';
export { ObjectNotFoundError } from './object-not-found-error';
