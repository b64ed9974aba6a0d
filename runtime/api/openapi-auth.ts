/**
 * Who may call an operation, as the OpenAPI document says it. The document's default is the
 * API key (every management route sits behind bearerAuth); public operations opt out.
 */

/** The document-wide `security`: `Authorization: Bearer <api key>`. */
export const apiKeySecurity = [{ bearer: [] }];

/** `security` of an operation anyone may call (health, webhooks). */
export const publicOperation = { security: [] };

/** The answer an operation behind the key gives a request without a right one. */
export const needsApiKey = {
  401: { description: 'missing or wrong API key (Authorization: Bearer <key>)' },
} as const;
