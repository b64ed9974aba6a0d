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

/**
 * Over HTTPS the cookie is `__Host-sluice_session`: the browser accepts that name only when it
 * is Secure, has Path=/ and no Domain, so a sibling subdomain cannot plant or overwrite it, and
 * only that name is read. Plain http (`npm start` on localhost) cannot be Secure, so there the
 * name has no prefix.
 */
const cookieKind = (c: Context, publicUrl: string) =>
  viaHttps(c, publicUrl) ? { secure: true, prefix: 'host' as const } : { secure: false };

export const readSessionCookie = (c: Context, publicUrl: string) =>
  getCookie(c, CONSOLE_SESSION_COOKIE, cookieKind(c, publicUrl).prefix);

/** httpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure on HTTPS. */
export function writeSessionCookie(c: Context, publicUrl: string, token: string, expiresAt: Date) {
  setCookie(c, CONSOLE_SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    expires: expiresAt,
    ...cookieKind(c, publicUrl),
  });
}

export const clearSessionCookie = (c: Context, publicUrl: string) =>
  deleteCookie(c, CONSOLE_SESSION_COOKIE, { path: '/', ...cookieKind(c, publicUrl) });
