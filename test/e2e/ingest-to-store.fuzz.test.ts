import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLine } from '@soc/parsers';
import { Alert } from '@soc/schema';
import { ALERT_MAPPINGS, esMappingViolations, openEmbeddedStore, toEsDoc } from '@soc/store';
import { alertFromSignatureEvent } from '@soc/svc-detector';

/**
 * Ingest accepts only what the index accepts: a Suricata record that passes ingest validation
 * becomes an alert that the real SQLite store upserts without failure and that the
 * Elasticsearch mapping (strict, typed) would index. Records that do not pass are rejected with
 * a reason, at ingest, where the sensor hears it.
 */

const dir = mkdtempSync(join(tmpdir(), 'soc-ingest-store-'));
const store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = { origin: { soc: 'soc-fz', country: 'EE' }, tlp: 'AMBER' as const };
const parse = (rec: unknown) => parseLine(JSON.stringify(rec), { format: 'suricata', source: 'fuzz', receivedAt: new Date('2026-01-01T00:00:00Z') });

const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom('not-an-ip', '', '010.0.0.1', '1.2.3', '256.1.1.1', 'fe80::1%eth0', '::ffff:10.0.0.1', ' 10.0.0.1', '2001:DB8::1'),
  fc.string({ maxLength: 70 }),
);
const portLike = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer(), fc.double(), fc.string({ maxLength: 6 }));
const timeLike = fc.oneof(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-11-01T12:00:00.123456+0100', '2026-11-01T12:00:00.1234567891234Z', '2026-02-30T00:00:00Z', '2026-11-01 12:00:00', '1700000000.5', 'yesterday'),
  fc.string({ maxLength: 40 }),
);
const text = (max: number) => fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: max }), fc.string({ unit: 'binary', maxLength: 60 }));

const suricataRecord = fc.record(
  {
    timestamp: timeLike,
    event_type: fc.oneof(fc.constant('alert'), fc.constant('alert'), fc.constantFrom('flow', 'dns', 'http', 'anomaly')),
    src_ip: ipLike,
    src_port: portLike,
    dest_ip: ipLike,
    dest_port: portLike,
    proto: fc.oneof(fc.constantFrom('TCP', 'UDP', 'ICMP'), text(40)),
    app_proto: text(80),
    community_id: text(140),
    host: text(300),
    alert: fc.record(
      {
        signature_id: fc.oneof(fc.integer(), fc.string({ maxLength: 200 })),
        signature: text(3000),
        category: text(300),
        severity: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double()),
        metadata: fc.dictionary(fc.string({ maxLength: 20 }), fc.array(text(50), { maxLength: 3 }), { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    ),
    flow: fc.record({ bytes_toserver: portLike, pkts_toserver: portLike, start: timeLike, end: timeLike }, { requiredKeys: [] }),
  },
  { requiredKeys: ['event_type'] },
);

describe('fuzz: Suricata records → ingest validation → alert → SQLite store and ES mapping', () => {
  it('refuses an invalid address at ingest, with the reason for the sensor', () => {
    const r = parse({ timestamp: '2026-11-01T12:00:00.000000+0000', event_type: 'alert', src_ip: 'not-an-ip', dest_ip: '10.0.0.5', alert: { signature_id: 1, signature: 'x' } });
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/source\.ip: not an IP address/) });
  });

  it('everything ingest accepts, the stores accept', async () => {
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(suricataRecord, async (rec) => {
        const r = parse(rec);
        if (!r.ok) {
          rejected++;
          expect(r.reason.length).toBeGreaterThan(0);
          expect(r.reason).not.toMatch(/^internal parser error/);
          return;
        }
        accepted++;
        const alert = alertFromSignatureEvent(r.event, ctx);
        if (!alert) return;
        const parsed = Alert.safeParse(alert);
        expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues[0])).toBe(true);
        expect(esMappingViolations(toEsDoc(parsed.data!), ALERT_MAPPINGS)).toEqual([]);
        const up = await store.upsert([parsed.data!]);
        expect(up.failed).toEqual([]);
        expect((await store.get(alert.id))?.id).toBe(alert.id);
      }),
    );
    // Both sides of the property must be exercised, or it proves nothing.
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
    process.stderr.write(`suricata→store: ${accepted} accepted, ${rejected} rejected\n`);
  });
});
