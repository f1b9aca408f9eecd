import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Client } from '@elastic/elasticsearch';
import { AuthError, BackendUnavailableError, ConfigError, SocError, ValidationError, retry, type RetryOptions } from '@soc/errors';

/**
 * Transport concerns of the Elasticsearch and OpenSearch adapters — connection options, TLS,
 * error classification and retries — kept apart from the request mapping. Both clients descend
 * from the same transport and name their errors alike, so one classification serves both.
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
 * A client library is loaded when a store of its kind is created, not when this package is
 * imported: every thread of `soc start` that opens the embedded store would otherwise hold the
 * Elasticsearch client's modules (about 29 MB of heap per thread) without using them.
 */
export const loadClientLibrary = <T>(name: string): T => createRequire(import.meta.url)(name) as T;

/**
 * The client does no retries of its own (`maxRetries: 0`): every retry goes through `retry` from
 * @soc/errors, so back-off and the retriable flag are decided in one place.
 */
export function createEsClient(o: EsConnectionOptions): Client {
  const options: ClientOptions = { node: o.node, maxRetries: 0, requestTimeout: o.requestTimeoutMs ?? 30_000 };
  if (o.auth) options.auth = o.auth;
  const tls = tlsOptions(o, 'Elasticsearch');
  if (tls) options.tls = tls;
  const { Client: EsClient } = loadClientLibrary<typeof import('@elastic/elasticsearch')>('@elastic/elasticsearch');
  return new EsClient(options);
}

/** TLS options of either client: the CA file read once, certificate checks on unless disabled. */
export function tlsOptions(o: EsConnectionOptions, engine: string): { ca?: Buffer; rejectUnauthorized: boolean } | undefined {
  if (o.caFile === undefined && o.tlsRejectUnauthorized === undefined) return undefined;
  let ca: Buffer | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFileSync(o.caFile);
    } catch (err) {
      throw new ConfigError(`cannot read ${engine} CA file ${o.caFile}: ${(err as Error).message}`, 'caFile');
    }
  }
  return { ...(ca ? { ca } : {}), rejectUnauthorized: o.tlsRejectUnauthorized ?? true };
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

const UNREACHABLE = new Set(['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError']);

/**
 * Maps either client's errors onto the project's vocabulary, keeping the retriable decision.
 * `op` names the engine and the operation ("opensearch bulk").
 */
export function toSocError(err: unknown, op: string): SocError {
  if (err instanceof SocError) return err;
  const e = err as { name?: string; statusCode?: number; body?: unknown; message?: string } | undefined;
  if (e?.name === 'ResponseError') {
    const status = e.statusCode ?? 0;
    const msg = `${op}: HTTP ${status} ${esReason(e.body)}`;
    if (status === 401 || status === 403) return new AuthError(msg, status);
    if (retriableStatus(status)) return new BackendUnavailableError(msg, { cause: err });
    if (status === 400) return new ValidationError(msg, { cause: err });
    return new SocError(msg, { cause: err });
  }
  if (e?.name !== undefined && UNREACHABLE.has(e.name)) {
    return new BackendUnavailableError(`${op}: ${e.message}`, { cause: err });
  }
  return new SocError(`${op}: ${e?.message ?? String(err)}`, { cause: err });
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
