import { previewText } from '../../db/storable-text';
import { assertNever } from '../assert-never';
import { abortedError, pastDeadlineError, stepTimeBudget, throwIfOutOfTime } from '../deadline';
import { LimitExceededError } from '../errors/limit-exceeded-error';
import { StepFailedError } from '../errors/step-failed-error';
import { sendHttpRequest } from '../http-request';
import { assertJsonWithin, stepInputBound } from '../json-bound';
import { retryAfterMs } from '../retry-after';
import { outputOf, type RunScope, type StepOutput } from '../run-scope';
import type { HttpStep } from '../step-schemas';
import { resolveTemplates } from '../template';
import type { StepContext, StepInputSlot } from './step-context';

const ERROR_BODY_PREVIEW_CHARS = 200;

export async function executeHttpStep(
  step: HttpStep,
  scope: RunScope,
  run: StepContext,
  slot: StepInputSlot,
): Promise<StepOutput> {
  const { method } = step;
  const bound = stepInputBound(run.limits);
  const url = resolveTemplates(step.url, scope, { bound });
  if (typeof url !== 'string') {
    assertJsonWithin(url, bound, 'the url');
    slot.input = outputOf({ method, url });
    throw new StepFailedError(`url must resolve to a string (got ${typeof url})`);
  }
  const resolvedHeaders = resolveTemplates(step.headers ?? {}, scope, { bound });
  const body = resolveTemplates(step.body, scope, { bound });
  // Before anything below serialises a part of it.
  assertJsonWithin({ method, url, headers: resolvedHeaders, body }, bound, 'the request');
  const headers = stringValues(resolvedHeaders);
  // Serialised once: the logged input's JSON, and the bytes sent for a JSON body.
  const bodyJson = body === undefined ? undefined : JSON.stringify(body);
  const head = `{"method":"${method}","url":${JSON.stringify(url)},"headers":${JSON.stringify(headers)}`;
  slot.input =
    bodyJson === undefined
      ? { value: { method, url, headers }, json: `${head}}` }
      : { value: { method, url, headers, body }, json: `${head},"body":${bodyJson}}` };
  // Error messages leave out the query string, which often carries credentials.
  const target = `${method} ${withoutQuery(url)}`;

  const { httpTimeoutMs, httpMaxResponseBytes, allowPrivateNetwork } = run.limits;
  await run.beforeSideEffect();
  // The wait may have outlived the deadline or an abort: a late call must not go out.
  throwIfOutOfTime(run.deadline, run.signal);
  const budget = stepTimeBudget(
    Math.min(step.timeoutMs ?? httpTimeoutMs, httpTimeoutMs),
    run.deadline,
  );
  const result = await sendHttpRequest(
    { method, url, headers, body, ...(bodyJson === undefined ? {} : { bodyJson }) },
    {
      timeoutMs: budget.timeoutMs,
      maxResponseBytes: httpMaxResponseBytes,
      allowPrivateNetwork,
      signal: run.signal,
    },
  );
  if (result.ok) {
    const { response } = result;
    if (response.status >= 400) {
      // 429 and 5xx may pass; any other 4xx is the request's fault and would repeat.
      const transient = response.status === 429 || response.status >= 500;
      // Redacted before it is cut, so a cut cannot leave half a secret behind.
      throw new StepFailedError(
        `${target} answered ${response.status}: ${preview(response.body, (text) => run.redact(text))}`,
        {
          ...(transient
            ? { retry: { afterMs: retryAfterMs(response.headers['retry-after']) } }
            : {}),
        },
      );
    }
    return outputOf(response);
  }
  switch (result.reason) {
    case 'invalid':
    case 'refused':
    case 'too_deep':
      throw new StepFailedError(`${target}: ${result.message}`);
    case 'network':
      throw new StepFailedError(`${target}: ${result.message}`, { retry: { afterMs: null } });
    case 'timeout':
      if (budget.deadlineBinds) throw pastDeadlineError(run.deadline);
      throw new StepFailedError(`${target}: ${result.message}`, { retry: { afterMs: null } });
    case 'too_large':
      throw new LimitExceededError('httpMaxResponseBytes', `${target}: ${result.message}`);
    case 'aborted':
      throw abortedError(run.signal);
    default:
      return assertNever(result.reason);
  }
}

function stringValues(headers: unknown): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    flat[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return flat;
}

function withoutQuery(url: string): string {
  return URL.canParse(url) ? `${new URL(url).origin}${new URL(url).pathname}` : url;
}

function preview(body: unknown, redact: (text: string) => string): string {
  const text = redact(typeof body === 'string' ? body : JSON.stringify(body));
  return text.length > ERROR_BODY_PREVIEW_CHARS
    ? `${previewText(text, ERROR_BODY_PREVIEW_CHARS)}…`
    : text;
}
