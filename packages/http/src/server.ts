import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import { AuthError, LimitExceededError, SocError, ValidationError } from '@soc/errors';
import type { Principal, Role, TokenVerifier } from '@soc/config';
import type { Logger, Metrics } from '@soc/telemetry';
import { certificatePrincipal, createWebServer, type WebTls } from './tls.ts';

/**
 * A deliberately small HTTP layer shared by the collector and the API: routing by method and
 * path pattern, bearer-token roles on every route, body limits, per-token rate limits and one
 * mapping from SocError to status codes.
 */

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** e.g. `/v1/alerts/:id` */
  path: string;
  roles: readonly Role[];
  /** Served without authentication (login, the console's static files); rate-limited by address. */
  public?: boolean;
  handler: (ctx: RequestContext) => Promise<void>;
}

/** Authorises a whole request (bearer token or session cookie with CSRF), see @soc/auth. */
export interface RequestAuthorizer {
  authorizeRequest(req: IncomingMessage, allowed: readonly Role[]): Principal;
}

const ANONYMOUS: Principal = { name: 'anonymous', role: 'sensor' };

function authorize(verifier: TokenVerifier | RequestAuthorizer, req: IncomingMessage, r: Route): Principal {
  if (r.public) return ANONYMOUS;
  const cert = certificatePrincipal(req, r.roles);
  if (cert) return cert;
  return 'authorizeRequest' in verifier ? verifier.authorizeRequest(req, r.roles) : verifier.authorize(req.headers.authorization, r.roles);
}

export class HttpError extends SocError {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, { retriable: status === 503 || status === 429 });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const pattern = route.path.replace(/\/:([A-Za-z_]+)/g, (_, k: string) => {
    keys.push(k);
    return '/([^/]+)';
  });
  return { ...route, regex: new RegExp(`^${pattern}$`), keys };
}

/** Token bucket per key; refills continuously. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `cost` tokens or returns the seconds to wait before retrying. */
  take(key: string, cost = 1): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((Math.min(cost, this.burst) - b.tokens) / this.ratePerSecond));
  }
}

export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof AuthError) return err.status;
  if (err instanceof ValidationError || err instanceof z.ZodError) return 400;
  if (err instanceof LimitExceededError) return 413;
  if (err instanceof SocError && err.retriable) return 503;
  return 500;
}

/** Reads the body, gunzipping when asked, never holding more than `limit` bytes (also after decompression). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new LimitExceededError(`body exceeds ${limit} bytes`));
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return Promise.reject(new HttpError(415, `content-encoding ${encoding} not supported (gzip or identity)`));
  }
  const stream = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        stream.destroy();
        req.resume();
        reject(new LimitExceededError(`body exceeds ${limit} bytes${encoding === 'gzip' ? ' after decompression' : ''}`));
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks, size)));
    stream.on('error', (e: Error) => reject(encoding === 'gzip' ? new ValidationError(`invalid gzip body: ${e.message}`) : e));
  });
}

export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>, limit = 64 * 1024): Promise<T> {
  const body = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ValidationError(`${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return parsed.data;
}

export interface HttpServiceOptions {
  service: string;
  routes: Route[];
  verifier: TokenVerifier | RequestAuthorizer;
  /** Set on every response (security headers). */
  responseHeaders?: Record<string, string>;
  logger: Logger;
  metrics: Metrics;
  /** Requests per second per token. */
  rateLimitPerSecond?: number;
}

export function createHttpHandler(o: HttpServiceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = o.routes.map(compile);
  const limiter = new RateLimiter(o.rateLimitPerSecond ?? 1000, (o.rateLimitPerSecond ?? 1000) * 2);
  return (req, res) => {
    for (const [k, v] of Object.entries(o.responseHeaders ?? {})) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let routeLabel = 'unmatched';
    const done = (status: number) => o.metrics.httpRequests.inc({ service: o.service, route: routeLabel, status: String(status) });
    const fail = (err: unknown) => {
      const status = statusOf(err);
      const headers = err instanceof HttpError ? err.headers : status === 503 ? { 'retry-after': '1' } : {};
      if (status >= 500) o.logger.error({ err, path: url.pathname }, 'request failed');
      const message = status === 500 ? 'internal error' : (err as Error).message;
      if (!res.headersSent) sendJson(res, status, { error: message }, headers);
      else res.destroy();
      done(status);
    };
    let matchedPath = false;
    for (const r of routes) {
      const m = r.regex.exec(url.pathname);
      if (!m) continue;
      matchedPath = true;
      if (r.method !== req.method) continue;
      routeLabel = r.path;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      void (async () => {
        try {
          const principal = authorize(o.verifier, req, r);
          const wait = limiter.take(r.public ? `ip:${req.socket.remoteAddress}` : principal.name);
          if (wait > 0) throw new HttpError(429, 'rate limit exceeded', { 'retry-after': String(wait) });
          await r.handler({ req, res, params, query: url.searchParams, principal });
          done(res.statusCode);
        } catch (err) {
          fail(err);
        }
      })();
      return;
    }
    req.resume();
    fail(new HttpError(matchedPath ? 405 : 404, matchedPath ? 'method not allowed' : 'not found'));
  };
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number, tls?: WebTls): Promise<{ server: Server | HttpsServer; url: string; close(): Promise<void> }> {
  const server = createWebServer({ requestTimeout: 60_000, headersTimeout: 15_000 }, handler, tls);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
