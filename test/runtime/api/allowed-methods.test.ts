import { Hono } from 'hono';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../runtime/api/errors';
import { allowedMethods } from '../../../runtime/api/middleware/allowed-methods';
import { errorHandler } from '../../../runtime/api/on-error';

/** A small app shaped like ours: a key check as `use` middleware, routes, our error handler. */
function app() {
  const api = new Hono({ strict: false });
  api.onError(errorHandler(pino({ level: 'silent' })));
  api.use(allowedMethods({ routes: () => api.routes }));
  api.use('/things/*', async () => {
    throw new ApiError(401, 'unauthorized', 'no key');
  });
  api.get('/things/:id', (c) => c.json({ id: c.req.param('id') }));
  api.delete('/things/:id', (c) => c.body(null, 204));
  api.post('/hooks/:id', (c) => c.json({}, 202));
  return api;
}

describe('allowed methods', () => {
  it('answers a method the path lacks 405 with Allow, before the key check', async () => {
    const res = await app().request('/things/1', { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE, OPTIONS');
    expect(await res.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it('answers OPTIONS 204 with Allow and no body, and ignores a trailing slash', async () => {
    const res = await app().request('/hooks/1/', { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await res.text()).toBe('');
  });

  it('answers HEAD on a POST-only path 405, and lets HEAD through where GET is', async () => {
    expect((await app().request('/hooks/1', { method: 'HEAD' })).status).toBe(405);
    expect((await app().request('/things/1', { method: 'HEAD' })).status).toBe(401);
  });

  it('leaves a path no route knows to the 404', async () => {
    const res = await app().request('/nothing', { method: 'OPTIONS' });
    expect(res.status).toBe(404);
  });
});
