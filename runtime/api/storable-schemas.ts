import { z } from '@hono/zod-openapi';
import { isStorableInstant, STORABLE_INSTANTS } from '../db/storable-instant';
import { textProblem } from '../db/storable-text';

/**
 * Request fields bound for PostgreSQL, checked at intake so that a value it would refuse gets a
 * 400 naming the field rather than reaching a query.
 */

/** `schema`, refusing (and saying why) a string with NUL or an unpaired surrogate. */
export const storableText = (schema: z.ZodString) =>
  schema.superRefine((value, ctx) => {
    const problem = textProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An ISO 8601 date and time with its offset, at an instant PostgreSQL can be sent. */
export const storableDateTime = () =>
  z.iso.datetime({ offset: true }).refine((value) => isStorableInstant(new Date(value)), {
    message: `must be ${STORABLE_INSTANTS}`,
  });
