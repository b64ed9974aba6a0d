import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const CONSOLE_SESSION_COOKIE = 'sluice_session';

/** HTTPS as the browser sees it: directly, or through CloudFront/the ALB (X-Forwarded-Proto). */
const viaHttps = (c: Context) =>
  new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

export const readSessionCookie = (c: Context) => getCookie(c, CONSOLE_SESSION_COOKIE);

/** httpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure on HTTPS. */
export function writeSessionCookie(c: Context, token: string, expiresAt: Date) {
  setCookie(c, CONSOLE_SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure: viaHttps(c),
    expires: expiresAt,
  });
}

export const clearSessionCookie = (c: Context) =>
  deleteCookie(c, CONSOLE_SESSION_COOKIE, { path: '/', secure: viaHttps(c) });
