import { open, seal } from './aes-gcm';
import type { DataKeys } from './data-keys';
import { SecretUnreadableError } from './secret-unreadable-error';

/** One secret as stored: the value under its own data key, and that key wrapped by the KEK. */
export interface SealedSecret {
  ciphertext: string;
  wrappedKey: string;
  keySource: DataKeys['source'];
}

/** Binds a ciphertext to its row: a value copied under another project or name does not open. */
const aad = (projectId: string, name: string) => `sluice:secret:${projectId}/${name}`;

export async function sealSecret(
  keys: DataKeys,
  projectId: string,
  name: string,
  value: string,
): Promise<SealedSecret> {
  const dataKey = await keys.generate();
  try {
    return {
      ciphertext: seal(
        dataKey.plaintext,
        Buffer.from(value, 'utf8'),
        aad(projectId, name),
      ).toString('base64'),
      wrappedKey: dataKey.wrapped.toString('base64'),
      keySource: keys.source,
    };
  } finally {
    dataKey.plaintext.fill(0);
  }
}

export async function openSecret(
  keys: DataKeys,
  projectId: string,
  name: string,
  sealed: Pick<SealedSecret, 'ciphertext' | 'wrappedKey'>,
): Promise<string> {
  const dataKey = await keys.unwrap(Buffer.from(sealed.wrappedKey, 'base64'));
  try {
    return open(dataKey, Buffer.from(sealed.ciphertext, 'base64'), aad(projectId, name)).toString(
      'utf8',
    );
  } catch (error) {
    throw new SecretUnreadableError(name, { cause: error });
  }
}
