import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const CONSOLE_SESSION_COOKIE = 'sluice_session';

/**
 * HTTPS as the browser sees it: directly, through the ALB (X-Forwarded-Proto), or behind
 * CloudFront, whose hop to the ALB may be plain HTTP, where SLUICE_PUBLIC_URL says https.
 */
const viaHttps = (c: Context, publicUrl: string) =>
  publicUrl.startsWith('https:') ||
  new URL(c.req.url).protocol === 'https:' ||
  c.req.header('x-forwarded-proto') === 'https';

export const readSessionCookie = (c: Context) => getCookie(c, CONSOLE_SESSION_COOKIE);

/** httpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure on HTTPS. */
export function writeSessionCookie(c: Context, publicUrl: string, token: string, expiresAt: Date) {
  setCookie(c, CONSOLE_SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure: viaHttps(c, publicUrl),
    expires: expiresAt,
  });
}

export const clearSessionCookie = (c: Context, publicUrl: string) =>
  deleteCookie(c, CONSOLE_SESSION_COOKIE, { path: '/', secure: viaHttps(c, publicUrl) });
