import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenVerifier } from '@soc/config';
import { BackendUnavailableError } from '@soc/errors';
import { Metrics, createLogger } from '@soc/telemetry';
import { RateLimiter, createHttpHandler, listen, opsRoutes, readBody, sendJson } from './index.ts';

const analyst = 'soc_a_' + 'x'.repeat(40);
const sensor = 'soc_s_' + 'y'.repeat(40);

/** One raw HTTP/1.1 exchange on a socket: what came back, and whether the socket was reset. */
interface Raw {
  write(data: string | Buffer): boolean;
  /** Everything received so far. */
  text(): string;
  /** Resolves when `pred` holds for the received text, or rejects after `ms`. */
  until(pred: (text: string) => boolean, ms?: number): Promise<string>;
  closed: Promise<{ error?: string }>;
  end(): void;
}

function rawSocket(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let received = '';
    const waiters: (() => void)[] = [];
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<{ error?: string }>((done) => {
      let error: string | undefined;
      sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      sock.on('close', () => {
        done({ error });
        for (const w of waiters.splice(0)) w();
      });
    });
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        write: (d) => (sock.destroyed ? false : sock.write(d)),
        text: () => received,
        closed,
        end: () => sock.end(),
        until: (pred, ms = 4000) =>
          new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`timed out; received ${JSON.stringify(received.slice(-300))}`)), ms);
            const check = () => {
              if (pred(received)) {
                clearTimeout(timer);
                ok(received);
              } else if (sock.destroyed) {
                clearTimeout(timer);
                fail(new Error(`socket closed; received ${JSON.stringify(received.slice(-300))}`));
              } else waiters.push(check);
            };
            check();
          }),
      }),
    );
  });
}

const responses = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

describe('http service', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  const logger = createLogger('test', { level: 'silent' });
  const logged = vi.spyOn(logger, 'error');
  beforeAll(async () => {
    const handler = createHttpHandler({
      service: 'test',
      verifier: new TokenVerifier([{ name: 'a', role: 'analyst', token: analyst }, { name: 's', role: 'sensor', token: sensor }]),
      logger,
      metrics: new Metrics({ defaults: false }),
      rateLimitPerSecond: 5,
      routes: [
        { method: 'POST', path: '/echo', roles: ['sensor'], handler: async ({ req, res }) => sendJson(res, 200, { bytes: (await readBody(req, 1000)).length }) },
        { method: 'GET', path: '/items/:id', roles: ['analyst'], handler: async ({ res, params }) => sendJson(res, 200, { id: params.id }) },
        { method: 'GET', path: '/down', roles: ['analyst'], handler: async () => { throw new BackendUnavailableError('bus full'); } },
        { method: 'GET', path: '/bug', roles: ['analyst'], handler: async () => { throw new TypeError('secret internal detail'); } },
        { method: 'GET', path: '/sync-bug', roles: ['analyst'], handler: (() => { throw new RangeError('thrown synchronously'); }) as () => Promise<void> },
        ...opsRoutes(new Metrics({ defaults: false }), async () => ({ bus: true })),
      ],
    });
    server = await listen(handler, '127.0.0.1', 0);
  });
  afterAll(() => server.close());

  const call = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(server.url + path, { ...init, headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers ?? {}) } });

  it('routes with params and enforces roles', async () => {
    expect((await (await call("/items/a%20b", { token: analyst })).json()) as unknown).toEqual({ id: 'a b' });
    expect((await call('/items/1', { token: sensor })).status).toBe(403);
    expect((await call('/items/1')).status).toBe(401);
    expect((await call('/nope', { token: analyst })).status).toBe(404);
    expect((await call('/items/1/more', { token: analyst })).status).toBe(404);
    expect((await call('/items/1', { token: analyst, method: 'DELETE' })).status).toBe(405);
  });

  it('answers malformed percent-encoding in a path parameter with 400, with or without a token, and keeps serving', async () => {
    for (const method of ['GET', 'PATCH']) {
      expect((await call('/items/%E0%A4%A', { method })).status).toBe(401);
      const r = await call('/items/%E0%A4%A', { method: 'GET', token: analyst });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: 'path parameter id has malformed percent-encoding' });
    }
    expect((await call('/items/%ZZ', { token: analyst })).status).toBe(400);
    expect((await call('/items/ok', { token: analyst })).status).toBe(200);
  });

  it('turns any unexpected throw into a logged 500 with a generic body', async () => {
    logged.mockClear();
    for (const path of ['/bug', '/sync-bug']) {
      const r = await call(path, { token: analyst });
      expect(r.status).toBe(500);
      const body = await r.text();
      expect(JSON.parse(body)).toEqual({ error: 'internal error' });
      expect(body).not.toMatch(/secret|synchronously|at /);
    }
    expect(logged).toHaveBeenCalledTimes(2);
  });

  it('answers a malformed request target with 400', async () => {
    const raw = await rawSocket(server.url);
    raw.write('GET http://[bad/x HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(responses(await raw.until((t) => responses(t).length > 0))).toEqual(['HTTP/1.1 400']);
    raw.end();
  });

  it('tells only token holders which paths exist', async () => {
    expect((await call('/nope')).status).toBe(401);
    expect((await call('/items/1', { method: 'DELETE' })).status).toBe(401);
  });

  it('serves liveness without a token and says nothing else; readiness and metrics need one', async () => {
    const live = await call('/healthz');
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('{"status":"ok"}');
    expect((await call('/readyz')).status).toBe(401);
    expect(await (await call('/readyz', { token: sensor })).json()).toEqual({ status: 'ok', checks: { bus: true } });
    expect((await call('/metrics')).status).toBe(401);
    expect((await call('/metrics', { token: analyst })).status).toBe(200);
  });

  it('answers an over-limit chunked body with a readable 413, then closes cleanly', async () => {
    const raw = await rawSocket(server.url);
    raw.write(`POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensor}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.from(`4000\r\n${'a'.repeat(0x4000)}\r\n`);
    // Keep sending, as a sensor streaming a big body would, until the answer is there.
    for (let sent = 0; sent < 64 && responses(raw.text()).length === 0; sent++) {
      raw.write(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    const text = await raw.until((t) => /\r\n\r\n\{.*\}$/s.test(t));
    expect(responses(text)).toEqual(['HTTP/1.1 413']);
    expect(text).toMatch(/^connection: close\r$/im);
    expect(text).toMatch(/body exceeds 1000 bytes/);
    raw.write('0\r\n\r\n');
    expect(await raw.closed).toEqual({ error: undefined });
  });

  it('answers an over-limit declared body with 413 without reading it', async () => {
    const raw = await rawSocket(server.url);
    raw.write(`POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensor}\r\nContent-Length: 50000\r\n\r\n${'a'.repeat(20000)}`);
    const text = await raw.until((t) => /\r\n\r\n\{.*\}$/s.test(t));
    expect(responses(text)).toEqual(['HTTP/1.1 413']);
    raw.write('a'.repeat(30000));
    expect(await raw.closed).toEqual({ error: undefined });
  });

  it('keeps a keep-alive connection usable after refusing a gzip bomb', async () => {
    const raw = await rawSocket(server.url);
    const bomb = gzipSync(Buffer.alloc(100_000));
    raw.write(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sensor}\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`), bomb]));
    await raw.until((t) => responses(t).length === 1 && /\}$/.test(t));
    raw.write(`GET /items/next HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${analyst}\r\n\r\n`);
    const text = await raw.until((t) => responses(t).length === 2 && /"id":"next"\}$/.test(t), 2000);
    expect(responses(text)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200']);
    raw.end();
    expect(await raw.closed).toEqual({ error: undefined });
  });

  it('limits bodies, also after gzip decompression', async () => {
    expect(((await (await call('/echo', { token: sensor, method: 'POST', body: 'a'.repeat(500) })).json()) as { bytes: number }).bytes).toBe(500);
    expect((await call('/echo', { token: sensor, method: 'POST', body: 'a'.repeat(2000) })).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(100_000));
    expect(bomb.length).toBeLessThan(1000);
    expect((await call('/echo', { token: sensor, method: 'POST', body: bomb, headers: { 'content-encoding': 'gzip' } })).status).toBe(413);
    expect((await call('/echo', { token: sensor, method: 'POST', body: 'not gzip', headers: { 'content-encoding': 'gzip' } })).status).toBe(400);
    expect((await call('/echo', { token: sensor, method: 'POST', body: 'x', headers: { 'content-encoding': 'br' } })).status).toBe(415);
  });

  it('maps an unavailable backend to 503 with Retry-After', async () => {
    const r = await call('/down', { token: analyst });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('rate-limits per token with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call('/items/x', { token: analyst })).status);
    expect(statuses).toContain(429);
  });
});

describe('RateLimiter', () => {
  it('refills over time and reports the wait', () => {
    let now = 0;
    const r = new RateLimiter(10, 10, () => now);
    expect(r.take('k', 10)).toBe(0);
    expect(r.take('k', 5)).toBe(1);
    now = 500;
    expect(r.take('k', 5)).toBe(0);
    expect(r.take('other', 1)).toBe(0);
  });
});
