import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { correctClockSkew, type SdkSigning, signingDate } from '../sdk-signing';
import { S3PutError } from './s3-put-error';

export interface S3DirectPutOptions {
  /** The driver's client: its endpoint rules, credential chain and signer are reused. */
  client: S3Client;
  bucket: string;
  region: string;
  /** Set for S3-compatible stores; the request is then path-style. */
  endpoint?: string;
  maxAttempts: number;
  connectionTimeoutMs: number;
}

export interface DirectPutRequest {
  key: string;
  body: string | Uint8Array;
  contentType?: string | undefined;
  /** URL-encoded `k=v` pairs, sent as x-amz-tagging. */
  tagging?: string;
  /** Per attempt, from the first byte sent to the end of the answer. */
  timeoutMs: number;
}

/** Enough of an S3 error answer to name its code; the rest is not read. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
const RETRY_BASE_MS = 50;
/** As the SDK's own HTTP handler: a burst of uploads never opens more connections than this. */
const MAX_SOCKETS = 50;
/** S3 error codes that a new attempt can fix although their status is 4xx. */
const RETRYABLE_CODES = new Set(['RequestTimeout']);

/** Minimal slice of the SDK's resolved config that this module reads. */
interface ResolvedS3Config extends SdkSigning {
  endpointProvider(params: Record<string, unknown>): {
    url: URL;
    properties?: { authSchemes?: { name: string; signingName?: string; signingRegion?: string }[] };
  };
  useFipsEndpoint(): Promise<boolean>;
  useDualstackEndpoint(): Promise<boolean>;
}

/** RFC 3986 encoding of one key segment, as S3 canonicalises it. */
const encodeSegment = (segment: string) =>
  encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * PutObject for small bodies without the SDK's request pipeline. That pipeline costs about
 * 2 ms of CPU per call on this runtime's hardware, more than a whole small flow, and every
 * run stores its log. The SDK still decides everything that matters: the endpoint and
 * signing region (its endpoint rules), the credentials (its provider chain, refreshed as they
 * expire) and the SigV4 signature (its own signer), with its clock skew, which each answer's
 * Date header corrects as the SDK's own calls do. Only the HTTP exchange is ours: one
 * keep-alive connection pool, bounded attempts, and retries on network errors, 429, 5xx,
 * S3's transient 4xx codes and a refusal after which the skew was corrected, each attempt
 * signed afresh (a PUT is idempotent).
 */
export function createS3DirectPut(options: S3DirectPutOptions) {
  const config = options.client.config as unknown as ResolvedS3Config;
  let resolved: Promise<{
    url: URL;
    signer: Awaited<ReturnType<ResolvedS3Config['signer']>>;
  }> | null = null;
  const resolve = () => {
    resolved ??= (async () => {
      const endpoint = config.endpointProvider({
        Bucket: options.bucket,
        Region: options.region,
        ForcePathStyle: options.endpoint !== undefined,
        ...(options.endpoint === undefined ? {} : { Endpoint: options.endpoint }),
        // The same endpoint variants as the SDK's own calls (AWS_USE_FIPS_ENDPOINT, …).
        UseFIPS: await config.useFipsEndpoint(),
        UseDualStack: await config.useDualstackEndpoint(),
        Accelerate: false,
      });
      const scheme = endpoint.properties?.authSchemes?.find((s) => s.name === 'sigv4');
      const signer = await config.signer({
        name: 'sigv4',
        signingName: scheme?.signingName ?? 's3',
        signingRegion: scheme?.signingRegion ?? options.region,
      });
      return { url: endpoint.url, signer };
    })().catch((error: unknown) => {
      resolved = null;
      throw error;
    });
    return resolved;
  };

  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  };

  async function attempt(put: DirectPutRequest): Promise<void> {
    const { url, signer } = await resolve();
    const base = url.pathname.replace(/\/$/, '');
    const path = `${base}/${put.key.split('/').map(encodeSegment).join('/')}`;
    const body = typeof put.body === 'string' ? Buffer.from(put.body) : put.body;
    const headers: Record<string, string> = {
      host: url.host,
      'content-length': String(body.byteLength),
    };
    if (put.contentType !== undefined) headers['content-type'] = put.contentType;
    if (put.tagging !== undefined) headers['x-amz-tagging'] = put.tagging;
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path,
        query: {},
        headers,
        body,
      },
      { signingDate: signingDate(config) },
    );
    await send(url, path, signed.headers, body, put.timeoutMs);
  }

  function send(
    url: URL,
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<void> {
    const isHttps = url.protocol === 'https:';
    const request = isHttps ? httpsRequest : httpRequest;
    return new Promise<void>((resolvePut, rejectPut) => {
      let connectTimer: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        req.destroy(new S3PutError(`S3 PUT timed out after ${timeoutMs} ms`, true));
      }, timeoutMs);
      const settle = (error?: unknown) => {
        clearTimeout(deadline);
        clearTimeout(connectTimer);
        if (error === undefined) resolvePut();
        else rejectPut(error);
      };
      const req = request(
        {
          method: 'PUT',
          protocol: url.protocol,
          // An IPv6 literal keeps its brackets in URL.hostname; the socket needs it bare.
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port === '' ? undefined : Number(url.port),
          path,
          headers,
          agent: agents[isHttps ? 'https:' : 'http:'],
        },
        (res) => {
          const skewCorrected = correctClockSkew(config, res.headers.date);
          readAnswer(res).then(
            () => settle(),
            (error: unknown) =>
              // Refused for the signature's time (RequestTimeTooSkewed, …): the next attempt
              // signs with S3's clock, as the SDK retries a call whose skew it corrected.
              settle(
                skewCorrected && error instanceof S3PutError && !error.retryable
                  ? new S3PutError(error.message, true)
                  : error,
              ),
          );
        },
      );
      // A pooled socket is already connected; a new one gets connectionTimeoutMs to connect.
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => {
          req.destroy(new S3PutError('S3 connection timed out', true));
        }, options.connectionTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (error) => {
        settle(
          error instanceof S3PutError ? error : new S3PutError(`S3 PUT: ${error.message}`, true),
        );
      });
      req.end(body);
    });
  }

  return async function putObject(put: DirectPutRequest): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(put);
      } catch (error) {
        const retryable = error instanceof S3PutError && error.retryable;
        if (!retryable || n >= options.maxAttempts) throw error;
        // Full jitter, as the SDK's standard retry strategy does.
        await new Promise((r) => setTimeout(r, Math.random() * RETRY_BASE_MS * 2 ** n));
      }
    }
  };
}

/** Resolves for 2xx; otherwise rejects naming the status and S3's error code. */
function readAnswer(res: IncomingMessage): Promise<void> {
  const status = res.statusCode ?? 0;
  // The answer cut off mid-way is a network failure like any other: worth another attempt.
  const broken = (error: Error) =>
    new S3PutError(`S3 PUT answer broke off: ${error.message}`, true);
  if (status >= 200 && status < 300) {
    res.resume();
    return new Promise((done, fail) => {
      res.once('end', done);
      res.once('error', (error) => fail(broken(error)));
    });
  }
  return new Promise((_, fail) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (text.length < MAX_ERROR_BODY_BYTES) text += chunk;
    });
    res.once('error', (error) => fail(broken(error)));
    res.once('end', () => {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'no error code';
      const retryable = status === 429 || status >= 500 || RETRYABLE_CODES.has(code);
      fail(new S3PutError(`S3 PUT answered ${status} (${code})`, retryable));
    });
  });
}
