import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '@soc/config';
import { createHttpHandler, listen } from '@soc/http';
import { Metrics, createLogger } from '@soc/telemetry';
import { Backpressure } from './backpressure.ts';
import { collectorRoutes } from './http.ts';

const token = 'soc_s_' + 'b'.repeat(40);
const logger = createLogger('t', { level: 'silent' });

/** A real HTTP collector whose ingest waits until `gate` opens, behind a Backpressure. */
async function collector(o: { maxInFlight: number; maxBacklog: number; backlog: () => Promise<Record<string, number>> }) {
  const metrics = new Metrics({ defaults: false });
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  const ingest = { submit: async (lines: unknown[]) => (await gate, { accepted: lines.length, rejected: 0, errors: [] }) };
  const backpressure = new Backpressure({ ...o, metrics, logger, intervalMs: 10 });
  const routes = collectorRoutes({ ingest, producer: { send: async () => [], close: async () => {} }, maxBodyBytes: 1 << 20, maxLineBytes: 1 << 16, maxLinesPerRequest: 100, eventsPerSecond: 1e6, burst: 1e6, backpressure });
  const server = await listen(createHttpHandler({ service: 'collector', routes, verifier: new TokenVerifier([{ name: 's', role: 'sensor', token }]), logger, metrics }), '127.0.0.1', 0);
  const post = () => fetch(`${server.url}/v1/events`, { method: 'POST', body: '{"a":1}', headers: { authorization: `Bearer ${token}` } });
  return { post, open, metrics, close: async () => (backpressure.close(), server.close()) };
}

describe('collector backpressure', () => {
  it('answers 503 + Retry-After beyond the requests in flight, and takes them again once they finish', async () => {
    const c = await collector({ maxInFlight: 2, maxBacklog: 1000, backlog: async () => ({}) });
    try {
      const first = [c.post(), c.post()];
      await new Promise((r) => setTimeout(r, 100));
      const refused = await c.post();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await c.metrics.render()).toMatch(/soc_queue_depth\{stage="collector"\} 2/);
      c.open();
      expect((await Promise.all(first)).map((r) => r.status)).toEqual([202, 202]);
      expect((await c.post()).status).toBe(202);
    } finally {
      await c.close();
    }
  });

  it('refuses ingest while a stage lags beyond the bound and reports each stage depth', async () => {
    let lag = 5000;
    const c = await collector({ maxInFlight: 10, maxBacklog: 1000, backlog: async () => ({ detector: lag, indexer: 3 }) });
    c.open();
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect((await c.post()).status).toBe(503);
      const text = await c.metrics.render();
      expect(text).toMatch(/soc_queue_depth\{stage="detector"\} 5000/);
      expect(text).toMatch(/soc_queue_depth\{stage="indexer"\} 3/);
      lag = 10;
      await new Promise((r) => setTimeout(r, 50));
      expect((await c.post()).status).toBe(202);
    } finally {
      await c.close();
    }
  });
});
