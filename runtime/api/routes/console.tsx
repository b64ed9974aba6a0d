import { z } from '@hono/zod-openapi';
import { type Context, Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { secureHeaders } from 'hono/secure-headers';
import { loadConsoleAssets } from '../../console/assets';
import { FlowPage } from '../../console/pages/flow-page';
import { FlowsPage } from '../../console/pages/flows-page';
import { Layout, type Section } from '../../console/pages/layout';
import { isSettled, RunDetail, RunPage } from '../../console/pages/run-timeline';
import { RunsPage, RunsTable } from '../../console/pages/runs-page';
import { SecretsPage } from '../../console/pages/secrets-page';
import { SignInPage } from '../../console/pages/sign-in-page';
import { SystemPage, SystemStatus } from '../../console/pages/system-page';
import { readStepDetails, storedLogReader } from '../../console/step-details';
import {
  type ConsoleSession,
  closeConsoleSession,
  findConsoleSession,
  openConsoleSession,
} from '../../db/console-session-store';
import { flowRunCounts, systemSnapshot } from '../../db/console-stats-store';
import { findFlow, findVersionDefinition, listFlows, listFlowVersions } from '../../db/flow-store';
import { findProjectIdByApiKey } from '../../db/project-store';
import { findRun, listRuns, readInlineRunLog } from '../../db/run-store';
import { runStatuses } from '../../db/schema';
import { isStorableInstant, STORABLE_INSTANTS } from '../../db/storable-instant';
import {
  clearSessionCookie,
  readSessionCookie,
  writeSessionCookie,
} from '../console-session-cookie';
import type { RouteDeps } from '../deps';
import { ApiError } from '../errors';
import { decodeFlowsCursor, encodeFlowsCursor } from '../flow-cursors';
import { bodyLimit } from '../middleware/body-limit';
import { toPage } from '../page';
import { decodeCursor, encodeCursor } from '../run-cursor';
import { logUrlOf } from '../run-log-url';
import { formatPath, invalidRequest } from '../validation-hook';

type ConsoleEnv = { Variables: { session: ConsoleSession } };

const DOCTYPE = raw('<!doctype html>');
const PAGE_SIZE = 50;
/**
 * The newest flows the Runs page's filter offers, and the newest versions the Flow page's
 * pickers offer: bounded, so a project with very many builds no page of them all (a run of an
 * older flow shows its id; an older version can still be compared through ?from=&to=).
 */
const FLOW_CHOICES = 200;
const VERSION_CHOICES = 200;
const DAY_MS = 86_400_000;
const YEAR_S = 31_536_000;

/** No inline script or style, no eval, no framing, no third-party origin: everything is ours. */
const consoleHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  crossOriginEmbedderPolicy: false,
});

const runsQuery = z.object({
  flowId: z
    .string()
    .max(100)
    .optional()
    .transform((v) => v || undefined),
  status: z
    .enum(runStatuses)
    .or(z.literal(''))
    .optional()
    .transform((v) => v || undefined),
  since: z
    .string()
    .max(40)
    .optional()
    .transform((v) => v || undefined),
  until: z
    .string()
    .max(40)
    .optional()
    .transform((v) => v || undefined),
  cursor: z
    .string()
    .max(200)
    .optional()
    .transform((v) => v || undefined),
});

const flowsQuery = z.object({
  cursor: z
    .string()
    .max(200)
    .optional()
    .transform((v) => v || undefined),
});

const diffQuery = z.object({
  from: z.coerce.number().int().min(1).optional(),
  to: z.coerce.number().int().min(1).optional(),
});

function parseQuery<T extends z.ZodType>(schema: T, c: Context): z.infer<T> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    invalidRequest(
      'query',
      result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  return result.data;
}

/** A `datetime-local` value read as UTC. */
function instant(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(date.getTime()))
    invalidRequest('query', [{ path: name, message: 'not a date and time' }]);
  if (!isStorableInstant(date))
    invalidRequest('query', [{ path: name, message: `must be ${STORABLE_INSTANTS}` }]);
  return date;
}

/** A form post's fields; 400 for a body that is not a form (a multipart one without its boundary). */
async function readForm(c: Context) {
  try {
    return await c.req.parseBody();
  } catch (error) {
    throw new ApiError(
      400,
      'invalid_request',
      'invalid body: not a form (application/x-www-form-urlencoded or multipart/form-data)',
      undefined,
      undefined,
      error,
    );
  }
}

/** A state-changing form post must come from this site: its Origin names our host. */
const sameSiteForm = (publicUrl: string) =>
  csrf({
    origin: (origin, c) => {
      if (origin === new URL(c.req.url).origin || origin === new URL(publicUrl).origin) return true;
      // Behind CloudFront or the ALB the APP sees http and its own host; the browser's Host is kept.
      const host = c.req.header('x-forwarded-host') ?? c.req.header('host');
      return host !== undefined && URL.canParse(origin) && new URL(origin).host === host;
    },
  });

/**
 * The console at /console: server-rendered pages over the API's own stores, scoped to the
 * session's project exactly as the API scopes a key. Its buttons call the /v1 API.
 */
export function consoleRoutes({
  database,
  env,
  store,
  liveWorkers,
  secrets,
  runLogUrls,
  authFailures,
  addressOf,
}: RouteDeps) {
  const db = database.db;
  const assets = loadConsoleAssets();
  const ttlMs = env.SLUICE_CONSOLE_SESSION_TTL_H * 3_600_000;
  const app = new Hono<ConsoleEnv>();

  /** The whole page, or only its live part when the page's script asks for a refresh. */
  const render = (
    c: Context<ConsoleEnv>,
    page: { title: string; section: Section; body: Child; live?: Child; settled?: boolean },
  ) => {
    c.header('Cache-Control', 'no-store');
    if (page.live !== undefined && c.req.header('x-console-part') === 'live') {
      if (page.settled) c.header('X-Console-Live', 'off');
      return c.html(<>{page.live}</>);
    }
    return c.html(
      <>
        {DOCTYPE}
        <Layout
          title={page.title}
          section={page.section}
          assets={assets}
          csrfToken={c.get('session').csrfToken}
        >
          {page.body}
        </Layout>
      </>,
    );
  };

  app.get('/', (c) => c.redirect('/console', 302));
  app.use('/console', consoleHeaders);
  app.use('/console/*', consoleHeaders);

  app.get('/console/assets/:name', (c) => {
    const file = assets.file(c.req.param('name'));
    if (file === undefined) throw new ApiError(404, 'not_found', 'no such console asset');
    // The name carries the content hash: a new build is a new URL, so this never goes stale.
    return c.body(new Uint8Array(file.body), 200, {
      'Content-Type': file.type,
      'Cache-Control': `public, max-age=${YEAR_S}, immutable`,
    });
  });

  app.get('/console/sign-in', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.html(
      <>
        {DOCTYPE}
        <SignInPage assets={assets} />
      </>,
    );
  });
  app.post(
    '/console/sign-in',
    bodyLimit({ maxBytes: 16 * 1024 }),
    sameSiteForm(env.publicUrl),
    async (c) => {
      const signInPage = (error: string, status: 401 | 429) => {
        c.header('Cache-Control', 'no-store');
        return c.html(
          <>
            {DOCTYPE}
            <SignInPage assets={assets} error={error} />
          </>,
          status,
        );
      };
      // Before the key is looked at, and a right key held back too, so that a guesser learns
      // nothing; the backstop caps this APP's failed sign-ins from every address together.
      const address = addressOf(c);
      const retryAfterS = authFailures.retryAfterS(address, { backstop: true });
      if (retryAfterS > 0) {
        c.header('Retry-After', String(retryAfterS));
        return signInPage(
          `Too many sign-ins with a wrong key. Try again in ${retryAfterS} seconds.`,
          429,
        );
      }
      const form = await readForm(c);
      const apiKey = typeof form.apiKey === 'string' ? form.apiKey.trim() : '';
      const projectId = apiKey === '' ? null : await findProjectIdByApiKey(db, apiKey);
      if (projectId === null) {
        if (apiKey !== '') authFailures.failed(address, { backstop: true });
        return signInPage('That API key is not valid. Paste a key of your project.', 401);
      }
      const session = await openConsoleSession(db, projectId, ttlMs);
      writeSessionCookie(c, env.publicUrl, session.token, session.expiresAt);
      return c.redirect('/console/flows', 303);
    },
  );

  // Every page below needs a live session; without one a page sends the reader to sign in.
  const pages = new Hono<ConsoleEnv>();
  pages.use(async function consoleSession(c, next) {
    const token = readSessionCookie(c, env.publicUrl);
    const session = token === undefined ? null : await findConsoleSession(db, token);
    if (session === null) {
      // HEAD is a GET without its body: it is sent the same way.
      const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
      if (reading && c.req.header('x-console-part') === undefined) {
        return c.redirect('/console/sign-in', 303);
      }
      throw new ApiError(401, 'unauthorized', 'the console session has ended; sign in again');
    }
    c.set('session', session);
    await next();
  });

  pages.post(
    '/sign-out',
    bodyLimit({ maxBytes: 16 * 1024 }),
    sameSiteForm(env.publicUrl),
    async (c) => {
      const form = await readForm(c);
      if (form.csrf !== c.get('session').csrfToken) {
        throw new ApiError(403, 'csrf_rejected', 'the sign-out form carried no valid CSRF token');
      }
      await closeConsoleSession(db, readSessionCookie(c, env.publicUrl) ?? '');
      clearSessionCookie(c, env.publicUrl);
      return c.redirect('/console/sign-in', 303);
    },
  );

  pages.get('/', (c) => c.redirect('/console/flows', 302));

  pages.get('/flows', async (c) => {
    const projectId = c.get('session').projectId;
    const { cursor } = parseQuery(flowsQuery, c);
    const rows = await listFlows(db, {
      projectId,
      limit: PAGE_SIZE + 1,
      after: cursor === undefined ? undefined : decodeFlowsCursor(projectId, cursor),
    });
    const { rows: flows, nextCursor } = toPage(rows, PAGE_SIZE, (last) =>
      encodeFlowsCursor(projectId, last),
    );
    const counts = await flowRunCounts(
      db,
      projectId,
      flows.map((f) => f.id),
      new Date(Date.now() - DAY_MS),
    );
    return render(c, {
      title: 'Flows',
      section: 'flows',
      body: (
        <FlowsPage
          flows={flows}
          counts={counts}
          publicUrl={env.publicUrl}
          nextCursor={nextCursor}
        />
      ),
    });
  });

  pages.get('/flows/:id', async (c) => {
    const projectId = c.get('session').projectId;
    const id = c.req.param('id');
    const query = parseQuery(diffQuery, c);
    const flow = await findFlow(db, projectId, id);
    const versions =
      flow === null
        ? null
        : await listFlowVersions(db, { projectId, flowId: id, limit: VERSION_CHOICES });
    if (flow === null || versions === null)
      throw new ApiError(404, 'not_found', `flow ${id} not found`);
    let diff: Parameters<typeof FlowPage>[0]['diff'];
    if (query.from !== undefined && query.to !== undefined) {
      // By number, not from the list: a URL may compare versions older than the list shows.
      const [from, to] = await Promise.all([
        findVersionDefinition(db, id, query.from),
        findVersionDefinition(db, id, query.to),
      ]);
      if (from === null || to === null) {
        invalidRequest('query', [
          { path: from === null ? 'from' : 'to', message: 'no such version' },
        ]);
      }
      diff = {
        from: query.from,
        to: query.to,
        fromDefinition: from.definition,
        toDefinition: to.definition,
      };
    }
    return render(c, {
      title: flow.name,
      section: 'flows',
      body: <FlowPage flow={flow} versions={versions} diff={diff} />,
    });
  });

  pages.get('/runs', async (c) => {
    const projectId = c.get('session').projectId;
    const query = parseQuery(runsQuery, c);
    const [rows, flows] = await Promise.all([
      listRuns(db, {
        projectId,
        flowId: query.flowId,
        status: query.status,
        createdFrom: instant('since', query.since),
        createdBefore: instant('until', query.until),
        limit: PAGE_SIZE + 1,
        after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      }),
      listFlows(db, { projectId, limit: FLOW_CHOICES }),
    ]);
    const page = toPage(rows, PAGE_SIZE, encodeCursor);
    const props = { filter: query, flows, runs: page.rows, nextCursor: page.nextCursor };
    return render(c, {
      title: 'Runs',
      section: 'runs',
      body: <RunsPage {...props} />,
      live: <RunsTable {...props} />,
    });
  });

  pages.get('/runs/:id', async (c) => {
    const projectId = c.get('session').projectId;
    const id = c.req.param('id');
    const run = await findRun(db, projectId, id);
    if (run === null) throw new ApiError(404, 'not_found', `run ${id} not found`);
    const { logKey } = run;
    const readLog = run.hasInlineLog
      ? async () => (await readInlineRunLog(db, run.id)) ?? ''
      : logKey === null
        ? null
        : storedLogReader(store, logKey);
    const [flow, logUrl, read] = await Promise.all([
      findFlow(db, projectId, run.flowId),
      logUrlOf(run, runLogUrls, store),
      readLog === null || !isSettled(run) ? null : readStepDetails(readLog),
    ]);
    const details = read instanceof Map ? read : null;
    const logNotShown = read === null || read instanceof Map ? undefined : read;
    // The worker writes the log just after it ends the run: the page goes on refreshing until
    // the steps' inputs and outputs are in.
    const final = isSettled(run) && (readLog === null || read !== null);
    return render(c, {
      title: `Run ${run.id.slice(0, 8)}`,
      section: 'runs',
      body: (
        <RunPage
          run={run}
          flowName={flow?.name ?? null}
          logUrl={logUrl}
          details={details}
          logNotShown={logNotShown}
          final={final}
        />
      ),
      live: <RunDetail run={run} logUrl={logUrl} details={details} logNotShown={logNotShown} />,
      settled: final,
    });
  });

  pages.get('/secrets', async (c) => {
    const listed = await secrets.list(c.get('session').projectId);
    return render(c, {
      title: 'Secrets',
      section: 'secrets',
      body: <SecretsPage secrets={listed} />,
    });
  });

  pages.get('/system', async (c) => {
    const [snapshot, workers] = await Promise.all([
      systemSnapshot(db, c.get('session').projectId),
      // Unknown rather than an error page when the queue cannot be asked right now.
      liveWorkers?.count().catch(() => undefined) ?? null,
    ]);
    const now = new Date();
    const seenWithinS = liveWorkers?.seenWithinS;
    return render(c, {
      title: 'System',
      section: 'system',
      body: (
        <SystemPage snapshot={snapshot} workers={workers} seenWithinS={seenWithinS} now={now} />
      ),
      live: (
        <SystemStatus snapshot={snapshot} workers={workers} seenWithinS={seenWithinS} now={now} />
      ),
    });
  });

  app.route('/console', pages);
  return app;
}
