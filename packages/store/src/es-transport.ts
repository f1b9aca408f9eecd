import { readFileSync } from 'node:fs';
import { Client, errors } from '@elastic/elasticsearch';
import { AuthError, BackendUnavailableError, ConfigError, SocError, ValidationError, retry, type RetryOptions } from '@soc/errors';

/**
 * Transport concerns of the Elasticsearch adapter — client construction, auth, TLS, error
 * classification and retries — kept apart from the typed API mapping in elasticsearch.ts.
 */

type ClientOptions = ConstructorParameters<typeof Client>[0];

export interface EsConnectionOptions {
  node: string | string[];
  auth?: { apiKey: string } | { username: string; password: string };
  /** PEM file of the CA that signed the cluster's certificate. */
  caFile?: string;
  tlsRejectUnauthorized?: boolean;
  requestTimeoutMs?: number;
}

/**
 * The client does no retries of its own (`maxRetries: 0`): every retry goes through `retry` from
 * @soc/errors, so back-off and the retriable flag are decided in one place.
 */
export function createEsClient(o: EsConnectionOptions): Client {
  const options: ClientOptions = { node: o.node, maxRetries: 0, requestTimeout: o.requestTimeoutMs ?? 30_000 };
  if (o.auth) options.auth = o.auth;
  if (o.caFile !== undefined || o.tlsRejectUnauthorized !== undefined) {
    let ca: Buffer | undefined;
    if (o.caFile !== undefined) {
      try {
        ca = readFileSync(o.caFile);
      } catch (err) {
        throw new ConfigError(`cannot read Elasticsearch CA file ${o.caFile}: ${(err as Error).message}`, 'caFile');
      }
    }
    options.tls = { ...(ca ? { ca } : {}), rejectUnauthorized: o.tlsRejectUnauthorized ?? true };
  }
  return new Client(options);
}

/** "type: reason" of an Elasticsearch error body, whatever its nesting. */
export function esReason(body: unknown): string {
  const e = (body as { error?: unknown } | undefined)?.error;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    const { type, reason } = e as { type?: string; reason?: string };
    return [type, reason].filter(Boolean).join(': ') || JSON.stringify(e).slice(0, 500);
  }
  return typeof body === 'string' ? body.slice(0, 500) : 'unknown error';
}

/** An HTTP status that is worth trying again: back-pressure or a server-side failure. */
export const retriableStatus = (status: number): boolean => status === 429 || status >= 500;

/** Maps the client's errors onto the project's vocabulary, keeping the retriable decision. */
export function toSocError(err: unknown, op: string): SocError {
  if (err instanceof SocError) return err;
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    const msg = `elasticsearch ${op}: HTTP ${status} ${esReason(err.body)}`;
    if (status === 401 || status === 403) return new AuthError(msg, status);
    if (retriableStatus(status)) return new BackendUnavailableError(msg, { cause: err });
    if (status === 400) return new ValidationError(msg, { cause: err });
    return new SocError(msg, { cause: err });
  }
  if (err instanceof errors.ConnectionError || err instanceof errors.TimeoutError || err instanceof errors.NoLivingConnectionsError) {
    return new BackendUnavailableError(`elasticsearch ${op}: ${err.message}`, { cause: err });
  }
  return new SocError(`elasticsearch ${op}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Runs one request with back-off on retriable failures; what escapes is always a SocError. */
export function withRetries<T>(op: string, fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  return retry(async () => {
    try {
      return await fn();
    } catch (err) {
      throw toSocError(err, op);
    }
  }, opts);
}
