import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { correctClockSkew, type SdkSigning, signingDate } from '../sdk-signing';

/**
 * The SQS calls every run makes (SendMessage on the APP, ReceiveMessage and DeleteMessage on a
 * worker), sent in SQS's JSON protocol over kept-alive connections and signed with the SDK's
 * own SigV4 signer, as storage/s3-direct-put.ts sends small S3 PUTs. Through the SDK's client
 * each of these cost about 1 ms of CPU on the bench box (its middleware stack, endpoint rules,
 * schema serde and retry strategy, per call), three times what the request itself costs; at
 * three calls per run that was a fifth of a sync run's CPU with the `sqs` driver. The SDK
 * client still decides what matters: the endpoint, the region, the credentials (the ECS task
 * role, refreshed before it expires), the signature (its signer) and the clock skew, which
 * each answer's Date header corrects as the SDK's own calls do (a call refused because this
 * machine's clock is off is signed again once). The rare calls (GetQueueAttributes,
 * ChangeMessageVisibility) stay on the SDK.
 */
export interface SqsWire {
  sendMessage(body: string, signal?: AbortSignal): Promise<void>;
  /** Long-polls for at most one message. */
  receiveMessage(
    options: { waitTimeS: number; visibilityTimeoutS: number },
    signal?: AbortSignal,
  ): Promise<Message[]>;
  deleteMessage(receiptHandle: string): Promise<void>;
  close(): void;
}

/** An SQS error answer: `name` is SQS's error code, such as `AccessDenied`. */
export class SqsWireError extends Error {
  readonly status: number;
  /** The answer's `Date` header: SQS's clock. */
  readonly serviceDate: string | undefined;
  constructor(code: string, message: string, status: number, serviceDate?: string) {
    super(message);
    this.name = code;
    this.status = status;
    this.serviceDate = serviceDate;
  }
}

/** Attempts per call for what SQS or the network may fail once in a while (as the SDK's 3). */
const MAX_ATTEMPTS = 3;
/** Backoff before a retry: a random delay under BACKOFF_MS × 2^attempt (the SDK's is 100). */
const BACKOFF_MS = 100;
/** As the SDK client's own `requestHandler` (sqs-client.ts): connecting fails fast. */
const CONNECT_TIMEOUT_MS = 2000;
/** A request may outlast the 20-s long poll. */
const REQUEST_TIMEOUT_MS = 25_000;
/** Error codes that say "slow down", for which SQS asks callers to retry. */
const THROTTLING = new Set([
  'ThrottlingException',
  'RequestThrottled',
  'AWS.SimpleQueueService.RequestThrottled',
]);

/** The slice of the SDK client's resolved configuration that the wire reads. */
interface ResolvedSqsConfig extends SdkSigning {
  isCustomEndpoint: boolean;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  region(): Promise<string>;
}

export function createSqsWire(client: SQSClient, queueUrl: string): SqsWire {
  const config = client.config as unknown as ResolvedSqsConfig;
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };
  let resolved: ReturnType<typeof resolveTarget> | undefined;
  const target = () => {
    if (resolved === undefined) {
      resolved = resolveTarget(config, queueUrl);
      // A failed resolution (credentials not there yet) is tried again by the next call.
      resolved.catch(() => {
        resolved = undefined;
      });
    }
    return resolved;
  };

  const call = async (action: string, input: object, signal?: AbortSignal) => {
    const { signer, url } = await target();
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        const signed = await signer.sign(
          {
            method: 'POST',
            protocol: url.protocol,
            hostname: url.hostname,
            port: url.port === '' ? undefined : Number(url.port),
            path: url.pathname,
            query: {},
            headers: {
              host: url.host,
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': `AmazonSQS.${action}`,
              // Error codes as the Query protocol named them (x-amzn-query-error), as the SDK asks.
              'x-amzn-query-mode': 'true',
              'content-length': String(Buffer.byteLength(body)),
            },
            body,
          },
          { signingDate: signingDate(config) },
        );
        const answer = await post(url, signed.headers, body, agents, signal);
        correctClockSkew(config, answer.serviceDate);
        return answer.value;
      } catch (error) {
        // Refused for the signature's time (SignatureDoesNotMatch, RequestExpired, …): signed
        // again at once with SQS's clock, as the SDK retries a call whose skew it corrected.
        const skewCorrected =
          error instanceof SqsWireError && correctClockSkew(config, error.serviceDate);
        if (signal?.aborted || attempt >= MAX_ATTEMPTS || !(skewCorrected || isRetryable(error))) {
          throw error;
        }
        if (!skewCorrected) await backoff(Math.random() * BACKOFF_MS * 2 ** attempt, signal);
      }
    }
  };

  return {
    async sendMessage(body, signal) {
      await call('SendMessage', { QueueUrl: queueUrl, MessageBody: body }, signal);
    },
    async receiveMessage({ waitTimeS, visibilityTimeoutS }, signal) {
      const answer = (await call(
        'ReceiveMessage',
        {
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: waitTimeS,
          VisibilityTimeout: visibilityTimeoutS,
        },
        signal,
      )) as { Messages?: Message[] };
      const messages = answer.Messages ?? [];
      for (const message of messages) checkBodyDigest(message);
      return messages;
    },
    async deleteMessage(receiptHandle) {
      await call('DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: receiptHandle });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/**
 * Where and how the SDK client would send the call: its custom endpoint when it has one
 * (tests, emulators), else the queue URL's own origin (as the SDK's `useQueueUrlAsEndpoint`
 * does), signed by its own SigV4 signer for `sqs` in its region.
 */
async function resolveTarget(config: ResolvedSqsConfig, queueUrl: string) {
  const endpoint = config.isCustomEndpoint ? await config.endpoint?.() : undefined;
  const url =
    endpoint === undefined
      ? new URL('/', new URL(queueUrl).origin)
      : new URL(
          `${endpoint.protocol}//${endpoint.hostname}${endpoint.port === undefined ? '' : `:${endpoint.port}`}${endpoint.path}`,
        );
  const region = await config.region();
  const signer = await config.signer({ name: 'sigv4', signingName: 'sqs', signingRegion: region });
  return { url, signer };
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  agents: { http: http.Agent; https: https.Agent },
  signal: AbortSignal | undefined,
): Promise<{ value: unknown; serviceDate: string | undefined }> {
  const secure = url.protocol === 'https:';
  const request = (secure ? https : http).request;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      headers,
      agent: secure ? agents.https : agents.http,
      timeout: REQUEST_TIMEOUT_MS,
      signal,
    });
    const connecting = setTimeout(
      () => outgoing.destroy(new NetworkError('connection timed out')),
      CONNECT_TIMEOUT_MS,
    );
    outgoing.once('socket', (socket) => {
      // A kept-alive socket is connected already.
      if (!socket.connecting) clearTimeout(connecting);
      else socket.once('connect', () => clearTimeout(connecting));
    });
    outgoing.once('timeout', () => outgoing.destroy(new NetworkError('request timed out')));
    outgoing.once('error', (error) => {
      clearTimeout(connecting);
      reject(signal?.aborted ? signal.reason : new NetworkError(error.message));
    });
    outgoing.once('response', (response) => {
      clearTimeout(connecting);
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', (error) => reject(new NetworkError(error.message)));
      response.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        const parsed = parseJson(text);
        const serviceDate = response.headers.date;
        if (status >= 200 && status < 300 && parsed.ok)
          resolve({ value: parsed.value, serviceDate });
        else
          reject(answerError(status, response.headers['x-amzn-query-error'], parsed, serviceDate));
      });
    });
    outgoing.end(body);
  });
}

/** No answer came (refused, reset, timed out): worth another attempt. */
class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof SqsWireError)) return false;
  return error.status >= 500 || error.status === 429 || THROTTLING.has(error.name);
}

type Parsed = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): Parsed {
  if (text === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** SQS's error: its Query-protocol code from the header, else the JSON body's `__type`. */
function answerError(
  status: number,
  queryError: string | string[] | undefined,
  parsed: Parsed,
  serviceDate: string | undefined,
) {
  const body = (parsed.ok && typeof parsed.value === 'object' && parsed.value) || {};
  const { __type: type, message, Message: capitalMessage } = body as Record<string, unknown>;
  const header = Array.isArray(queryError) ? queryError[0] : queryError;
  const code =
    header?.split(';')[0] ||
    (typeof type === 'string' ? type.slice(type.lastIndexOf('#') + 1) : '') ||
    `HTTP ${status}`;
  const text = typeof message === 'string' ? message : capitalMessage;
  return new SqsWireError(
    code,
    typeof text === 'string' ? text : parsed.ok ? 'no message' : 'an answer that is not JSON',
    status,
    serviceDate,
  );
}

/** The SDK checks each received body against its MD5 (MD5OfBody); so does this. */
function checkBodyDigest(message: Message): void {
  if (message.Body === undefined || message.MD5OfBody === undefined) return;
  const digest = createHash('md5').update(message.Body, 'utf8').digest('hex');
  if (digest !== message.MD5OfBody) {
    throw new SqsWireError(
      'InvalidChecksum',
      `message ${message.MessageId ?? '(no id)'} does not match its MD5OfBody`,
      200,
    );
  }
}

/** Waits `ms`; an abort ends the wait with the signal's reason, as it ends a request. */
function backoff(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return sleep(ms, undefined, signal === undefined ? {} : { signal }).catch(() => {
    throw signal?.reason;
  });
}
