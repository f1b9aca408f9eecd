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

function authorize(verifier: TokenVerifier | RequestAuthorizer, req: IncomingMessage, r: Pick<Route, 'roles' | 'public'>): Principal {
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

/**
 * Reads the body, gunzipping when asked, never holding more than `limit` bytes (also after
 * decompression). On refusal the rest of the body is discarded, not read into memory; the
 * answer then closes the connection (see `createHttpHandler`).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new LimitExceededError(`body exceeds ${limit} bytes`));
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return Promise.reject(new HttpError(415, `content-encoding ${encoding} not supported (gzip or identity)`));
  }
  const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
  const stream = gunzip ?? req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const stop = (err: Error) => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      // Never destroy the request here: the socket must live to carry the answer.
      req.resume();
      reject(err);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) stop(new LimitExceededError(`body exceeds ${limit} bytes${gunzip ? ' after decompression' : ''}`));
      else chunks.push(c);
    };
    stream.on('data', onData);
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size));
    });
    gunzip?.on('error', (e: Error) => stop(new ValidationError(`invalid gzip body: ${e.message}`)));
    req.on('error', (e: Error) => stop(new HttpError(400, `request body not received: ${e.message}`)));
    req.once('close', () => {
      if (!req.complete) stop(new HttpError(400, 'request body not received: connection closed'));
    });
    if (gunzip) req.pipe(gunzip);
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

/** How long a refused request may go on sending its body after the answer, before the socket is cut. */
const LINGER_MS = 2_000;

/** A body the client is still sending (or has not started to): an answer now leaves it unread. */
const bodyPending = (req: IncomingMessage): boolean =>
  !req.complete && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);

/**
 * Closes after an answer given before the request body was read, without losing the answer.
 * Node ends such a connection with `destroySoon()` right after the answer is flushed; a client
 * still sending then gets a TCP reset, and a reset discards the answer unread in its receive
 * buffer. So: send FIN after the answer, keep discarding what arrives for a bounded time
 * ("lingering close", as nginx does), then cut.
 */
function lingerAfterAnswer(req: IncomingMessage): void {
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    req.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

function requestTarget(rawUrl: string | undefined): URL {
  try {
    return new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'malformed request target');
  }
}

function decodeParams(route: CompiledRoute, m: RegExpExecArray): Record<string, string> {
  const params: Record<string, string> = {};
  route.keys.forEach((k, i) => {
    try {
      params[k] = decodeURIComponent(m[i + 1]!);
    } catch {
      throw new HttpError(400, `path parameter ${k} has malformed percent-encoding`);
    }
  });
  return params;
}

/**
 * The request handler: nothing a client sends and nothing a route throws escapes it. Order:
 * match the raw path, authenticate and authorise (before any client input is decoded), rate
 * limit, decode path parameters, run the route. Expected failures answer with their status
 * and message; anything else is a 500 with a generic body, logged with its stack.
 */
export function createHttpHandler(o: HttpServiceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = o.routes.map(compile);
  const limiter = new RateLimiter(o.rateLimitPerSecond ?? 1000, (o.rateLimitPerSecond ?? 1000) * 2);
  const everyRole = ['analyst', 'sensor'] as const satisfies readonly Role[];

  const handle = async (req: IncomingMessage, res: ServerResponse, route: { label: string }) => {
    const url = requestTarget(req.url);
    let matchedPath = false;
    for (const r of routes) {
      const m = r.regex.exec(url.pathname);
      if (!m) continue;
      matchedPath = true;
      if (r.method !== req.method) continue;
      route.label = r.path;
      const principal = authorize(o.verifier, req, r);
      const wait = limiter.take(r.public ? `ip:${req.socket.remoteAddress}` : principal.name);
      if (wait > 0) throw new HttpError(429, 'rate limit exceeded', { 'retry-after': String(wait) });
      await r.handler({ req, res, params: decodeParams(r, m), query: url.searchParams, principal });
      return;
    }
    // Which paths exist is only told to a caller with a valid token.
    authorize(o.verifier, req, { roles: everyRole });
    throw new HttpError(matchedPath ? 405 : 404, matchedPath ? 'method not allowed' : 'not found');
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const status = statusOf(err);
    if (status >= 500) o.logger.error({ err, method: req.method, url: req.url?.slice(0, 512) }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = err instanceof HttpError ? { ...err.headers } : status === 503 ? { 'retry-after': '1' } : {};
    if (bodyPending(req)) {
      headers.connection = 'close';
      lingerAfterAnswer(req);
    }
    // Only our own errors carry a message meant for the client; never a stack or an internal message.
    const message = status === 500 || !(err instanceof SocError || err instanceof z.ZodError) ? 'internal error' : (err as Error).message;
    sendJson(res, status, { error: message }, headers);
  };

  return (req, res) => {
    for (const [k, v] of Object.entries(o.responseHeaders ?? {})) res.setHeader(k, v);
    const route = { label: 'unmatched' };
    res.once('finish', () => o.metrics.httpRequests.inc({ service: o.service, route: route.label, status: String(res.statusCode) }));
    handle(req, res, route)
      .catch((err: unknown) => fail(req, res, err))
      .catch((err: unknown) => {
        // The error answer itself failed (socket gone, headers half written): cut the connection.
        o.logger.error({ err }, 'could not answer a failed request');
        res.destroy();
      });
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
