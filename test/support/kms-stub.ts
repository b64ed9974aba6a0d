import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type HttpStub, type StubRequest, type StubResponse, startHttpStub } from './http-stub';

/**
 * A local stand-in for AWS KMS that speaks its JSON 1.1 protocol (`X-Amz-Target:
 * TrentService.<Op>`): GenerateDataKey and Decrypt under one key of its own. A blob carries
 * its key id and is sealed with AES-GCM over the encryption context, as KMS binds it.
 */
export interface KmsStub extends HttpStub {
  keyId: string;
  /** How many calls each operation received. */
  calls: Record<string, number>;
}

const fail = (type: string, message: string): StubResponse => ({
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify({ __type: type, message }),
});
const ok = (body: unknown): StubResponse => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: JSON.stringify(body),
});

export async function startKmsStub(
  keyId = `arn:aws:kms:eu-west-1:123456789012:key/${randomBytes(8).toString('hex')}`,
): Promise<KmsStub> {
  const kek = randomBytes(32);
  const calls: Record<string, number> = {};
  const context = (body: { EncryptionContext?: Record<string, string> }) =>
    JSON.stringify(Object.entries(body.EncryptionContext ?? {}).sort());

  const answer = (request: StubRequest): StubResponse => {
    const op = String(request.headers['x-amz-target'] ?? '').replace('TrentService.', '');
    calls[op] = (calls[op] ?? 0) + 1;
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
      return fail('UnrecognizedClientException', 'request is not signed');
    }
    const body = JSON.parse(request.body) as Record<string, unknown> & {
      EncryptionContext?: Record<string, string>;
    };
    if (op === 'GenerateDataKey') {
      if (body.KeyId !== keyId)
        return fail('NotFoundException', `key ${String(body.KeyId)} not found`);
      if (body.KeySpec !== 'AES_256') return fail('ValidationException', 'KeySpec must be AES_256');
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kek, iv);
      cipher.setAAD(Buffer.from(context(body)));
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const blob = Buffer.concat([iv, cipher.getAuthTag(), sealed]);
      return ok({
        KeyId: keyId,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: blob.toString('base64'),
      });
    }
    if (op === 'Decrypt') {
      const blob = Buffer.from(String(body.CiphertextBlob), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', kek, blob.subarray(0, 12));
        decipher.setAAD(Buffer.from(context(body)));
        decipher.setAuthTag(blob.subarray(12, 28));
        const plaintext = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
        return ok({
          KeyId: keyId,
          Plaintext: plaintext.toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        });
      } catch {
        return fail('InvalidCiphertextException', 'the ciphertext is invalid');
      }
    }
    return fail('UnknownOperationException', `unknown operation ${op}`);
  };
  const stub = await startHttpStub(answer);
  return Object.assign(stub, { keyId, calls });
}
