import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { createEnvelope } from '@soc/federation';
import { Alert, DeadLetter, TOPICS } from '@soc/schema';
import { Metrics, createLogger } from '@soc/telemetry';
import { inboundGroup, startFederation } from './service.ts';
import { SOCS, federationOf, localAlert } from './testing.ts';

async function until(fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const fed = federationOf([SOCS.ee, SOCS.lv]);

describe('federation inbound consumer', () => {
  let dir: string;
  let bus: Bus;
  const logger = createLogger('federation-test', { level: 'silent' });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'federation-'));
    bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger });
    await bus.ensureTopics([{ name: TOPICS.alerts, partitions: 1 }, { name: TOPICS.deadLetter, partitions: 1 }, { name: TOPICS.federationOut, partitions: 1 }]);
  });
  afterEach(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('quarantines an unsigned envelope holding a lone surrogate and keeps accepting partners (finding 2)', async () => {
    const lv = fed.ctx(SOCS.lv);
    const service = await startFederation({ local: bus, shared: bus, ctx: lv, dataDir: dir, logger, metrics: new Metrics({ defaults: false }) });
    // The group starts at the end of the topic: wait until it has joined before sending.
    await until(async () => (await bus.lag(inboundGroup(SOCS.lv.id), TOPICS.federationOut)).some((l) => l.committed >= 0));
    const signer = fed.ctx(SOCS.ee).signer;
    const before = createEnvelope(localAlert(SOCS.ee, { message: 'before' }), signer);
    const after = createEnvelope(localAlert(SOCS.ee, { message: 'after' }), signer);
    // What an attacker with only the partner's key id can send: a copy with a lone surrogate and a signature that cannot verify.
    const poison = JSON.stringify({ ...before, message_id: crypto.randomUUID(), payload: { ...before.payload, message: 'scan \ud800' } });
    const p = await bus.producer();
    await p.send(TOPICS.federationOut, [{ key: 'soc-ee', value: JSON.stringify(before) }, { key: 'soc-ee', value: poison }, { key: 'soc-ee', value: JSON.stringify(after) }]);

    await until(async () => (await bus.lag(inboundGroup(SOCS.lv.id), TOPICS.federationOut)).every((l) => l.lag === 0));
    const received = (await bus.read(TOPICS.alerts, { limit: 100 })).map((r) => Alert.parse(JSON.parse(r.value)));
    expect(received.map((a) => [a.origin.soc, a.message]).sort()).toEqual([
      ['soc-ee', after.payload.message],
      ['soc-ee', before.payload.message],
    ]);
    const dead = (await bus.read(TOPICS.deadLetter, { limit: 100 })).map((r) => DeadLetter.parse(JSON.parse(r.value)));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'federation', source: `${TOPICS.federationOut}/0@1`, raw: poison });
    expect(dead[0]!.reason).toMatch(/^malformed: .*lone surrogate/);
    await service.stop();
    await p.close();
  });
});
