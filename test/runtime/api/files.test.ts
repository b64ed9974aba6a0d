import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectWithKey, generateApiKey } from '../../../runtime/db/project-store';
import { startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ SLUICE_MAX_FILE_MB: '1' }, { worker: false });
});
afterAll(() => stack.close());

const upload = (body: string | Uint8Array, query = '') =>
  stack.api.request(`/v1/files${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'text/csv' },
    body,
  });

describe('files API', () => {
  it('stores a raw upload and redirects downloads to a pre-signed URL', async () => {
    const res = await upload('a,b\n1,2\n', '?name=data.csv');
    expect(res.status).toBe(201);
    const { id, size, url } = (await res.json()) as { id: string; size: number; url: string };
    expect(size).toBe(8);
    expect(url).toContain('sig=');

    const redirect = await stack.call('GET', `/v1/files/${id}`);
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get('location') ?? '');
    expect(location.searchParams.get('expires')).toMatch(/^\d+$/);
    const download = await stack.api.request(`${location.pathname}${location.search}`);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('a,b\n1,2\n');
    expect(download.headers.get('content-disposition')).toContain('data.csv');
  });

  it.each([
    ['text/html', '<script>alert(document.cookie)</script>', 'application/octet-stream'],
    ['image/svg+xml', '<svg onload="alert(1)"/>', 'application/octet-stream'],
    ['application/javascript', 'alert(1)', 'application/octet-stream'],
    ['TEXT/HTML; charset=utf-8', '<b>x</b>', 'application/octet-stream'],
    ['image/png', 'not really a png', 'image/png'],
  ])(
    'serves an upload sent as %s as an attachment of a safe type',
    async (sentType, body, served) => {
      const res = await stack.api.request('/v1/files', {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': sentType },
        body,
      });
      const { id } = (await res.json()) as { id: string };
      const redirect = await stack.call('GET', `/v1/files/${id}`);
      const location = new URL(redirect.headers.get('location') ?? '');
      const download = await stack.api.request(`${location.pathname}${location.search}`);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe(served);
      // No name was given: the attachment is named for the file id.
      expect(download.headers.get('content-disposition')).toBe(
        `attachment; filename="${id}"; filename*=UTF-8''${id}`,
      );
      expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    },
  );

  it('leaves no stored object behind when the file row cannot be written', async () => {
    const objects = join(stack.env.SLUICE_DATA_DIR, 'files', 'objects', 'project', stack.projectId);
    const stored = async () =>
      (await readdir(join(objects, 'FILE')).catch(() => [] as string[])).length;
    const before = await stored();
    await stack.database.handle.db.execute(
      sql.raw(`create function refuse_file() returns trigger language plpgsql as
        $$ begin raise exception 'refused'; end $$;
        create trigger refuse_files before insert on files for each row execute function refuse_file()`),
    );
    try {
      const res = await upload('x,y\n');
      expect(res.status).toBeGreaterThanOrEqual(500);
      // Retention works from rows: an object with no row would stay in storage for good.
      expect(await stored()).toBe(before);
    } finally {
      await stack.database.handle.db.execute(
        sql.raw('drop trigger refuse_files on files; drop function refuse_file()'),
      );
    }
    expect((await upload('x,y\n')).status).toBe(201);
    expect(await stored()).toBe(before + 1);
  });

  it('answers 400 for a file name holding a NUL', async () => {
    const res = await upload('x', '?name=a%00b');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('answers 413 for an upload over SLUICE_MAX_FILE_MB', async () => {
    const res = await upload(new Uint8Array(1024 * 1024 + 1));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it("answers 404 for another project's file and for an unknown id", async () => {
    const { id } = (await (await upload('secret')).json()) as { id: string };
    const otherKey = generateApiKey();
    await createProjectWithKey(stack.database.handle.db, { name: 'other', apiKey: otherKey });
    const res = await stack.api.request(`/v1/files/${id}`, {
      headers: { authorization: `Bearer ${otherKey}` },
    });
    expect(res.status).toBe(404);
    expect((await stack.call('GET', '/v1/files/nope')).status).toBe(404);
  });
});
