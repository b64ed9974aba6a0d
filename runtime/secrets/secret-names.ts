/** What a secret may be called: `{{secrets.NAME}}` and `secrets.NAME` read it by this name. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** 64 KiB of UTF-8. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
