import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '@soc/config';
import { BackendUnavailableError } from '@soc/errors';
import { Metrics, createLogger } from '@soc/telemetry';
import { RateLimiter, createHttpHandler, listen, readBody, sendJson } from './index.ts';

const analyst = 'soc_a_' + 'x'.repeat(40);
const sensor = 'soc_s_' + 'y'.repeat(40);

describe('http service', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    const handler = createHttpHandler({
      service: 'test',
      verifier: new TokenVerifier([{ name: 'a', role: 'analyst', token: analyst }, { name: 's', role: 'sensor', token: sensor }]),
      logger: createLogger('test', { level: 'silent' }),
      metrics: new Metrics({ defaults: false }),
      rateLimitPerSecond: 5,
      routes: [
        { method: 'POST', path: '/echo', roles: ['sensor'], handler: async ({ req, res }) => sendJson(res, 200, { bytes: (await readBody(req, 1000)).length }) },
        { method: 'GET', path: '/items/:id', roles: ['analyst'], handler: async ({ res, params }) => sendJson(res, 200, { id: params.id }) },
        { method: 'GET', path: '/down', roles: ['analyst'], handler: async () => { throw new BackendUnavailableError('bus full'); } },
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
    expect((await call('/items/1', { token: analyst, method: 'DELETE' })).status).toBe(405);
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
