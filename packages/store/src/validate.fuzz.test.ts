import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Alert } from '@soc/schema';
import { buildAlerts } from './fixtures.ts';
import { AlertCompiled, validateBatch } from './query.ts';

/**
 * The store validates every alert with `AlertCompiled` (`Alert` compiled with `z.compile`). It
 * must accept exactly what `Alert` accepts, output the same value (the stored document is its
 * serialisation) and refuse with the same issues, which become the dead letter's reason. Checked
 * on the fixture alerts, on generated alerts valid and broken at one place, and on their JSON
 * round trips (what the indexer gets from the bus).
 */

const edgy = fc.constantFrom<unknown>(
  undefined, null, '', 'x', 'abcdefg', 'abcdefgh', 'A'.repeat(129), 'é'.repeat(64), '😀'.repeat(40), '\ud800', 0, -0, -1, 0.5, 1, 1.0000001, 1.5, 65535, 65536,
  2 ** 53, 1e300, NaN, Infinity, true, [], {}, [1], ['a'], { a: undefined }, '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1%eth0', '010.0.0.1', 'pseudo-3f2a',
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.123456789+00:00', '2026-01-01T00:00:00.1234567890Z', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00',
  'low', 'critical', 'severe', 'AMBER', 'AMBER+STRICT', 'amber', 'new', 'resolved', 'closed',
);
const leaf = fc.oneof(edgy, fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.ipV4(), fc.ipV6());
const opt = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const time = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00+02:00', '2026-01-01T00:00:00.5-05:30'),
);
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('::ffff:10.0.0.1', '2001:db8::1', 'pseudo-3f2a'));
const words = fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 });
/** Alerts the schema accepts (mostly: the generator does not know every bound). */
const valid = fc.record(
  {
    id: fc.stringMatching(/^[0-9a-f]{8,40}$/),
    '@timestamp': time,
    first_seen: time,
    last_seen: time,
    detector: fc.constantFrom('evidence', 'suricata', 'site-signals', 'indicators'),
    rule: fc.record({ id: fc.string({ minLength: 1, maxLength: 12 }), name: fc.string({ maxLength: 20 }), category: opt(fc.string({ maxLength: 8 })) }, { requiredKeys: ['id', 'name'] }),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    severity: fc.constantFrom('low', 'medium', 'high', 'critical'),
    message: fc.string({ maxLength: 40 }),
    explanation: fc.record(
      {
        summary: fc.string({ maxLength: 40 }),
        features: opt(fc.array(fc.record({ name: fc.string({ maxLength: 8 }), value: fc.double(), contribution: fc.double() }), { maxLength: 3 })),
        values: opt(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(fc.double(), fc.string({ maxLength: 8 })), { maxKeys: 3 })),
      },
      { requiredKeys: ['summary'] },
    ),
    source: opt(fc.record({ ip: opt(ip), port: opt(fc.integer({ min: 0, max: 65535 })) }, { requiredKeys: [] })),
    destination: opt(fc.record({ ip: opt(ip), port: opt(fc.integer({ min: 0, max: 65535 })) }, { requiredKeys: [] })),
    host: opt(fc.record({ name: opt(fc.string({ maxLength: 12 })) }, { requiredKeys: [] })),
    network: opt(fc.record({ transport: opt(fc.constantFrom('tcp', 'udp')), protocol: opt(fc.constantFrom('dns', 'tls')) }, { requiredKeys: [] })),
    count: opt(fc.integer({ min: 1, max: 1000 })),
    related_events: opt(fc.array(fc.stringMatching(/^[0-9a-f]{32}$/), { maxLength: 4 })),
    origin: fc.record({ soc: fc.constantFrom('soc-ee', 'soc-lv'), country: opt(fc.constantFrom('EE', 'LV')), name: opt(fc.string({ maxLength: 8 })) }, { requiredKeys: ['soc'] }),
    tlp: opt(fc.constantFrom('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
    status: opt(fc.constantFrom('new', 'acknowledged', 'in_progress', 'resolved', 'false_positive')),
    assignee: opt(fc.string({ minLength: 1, maxLength: 8 })),
    federation: opt(fc.record({ message_id: fc.string({ maxLength: 12 }), received_at: time, hops: fc.integer({ min: 0, max: 5 }), path: opt(words) }, { requiredKeys: ['message_id', 'received_at', 'hops'] })),
    links: opt(fc.array(fc.record({ type: fc.constant('seen_by_partner_first'), alert_id: fc.string({ maxLength: 12 }), origin: opt(fc.string({ maxLength: 6 })) }, { requiredKeys: ['type', 'alert_id'] }), { maxLength: 2 })),
    labels: opt(fc.dictionary(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'a.b')), fc.string({ maxLength: 8 }), { maxKeys: 3 })),
    threat: opt(fc.record({ framework: fc.constant('MITRE ATT&CK'), tactic: opt(fc.record({ id: words, name: words }, { requiredKeys: [] })), technique: opt(fc.record({ id: words, name: words }, { requiredKeys: [] })) }, { requiredKeys: ['framework'] })),
  },
  { requiredKeys: ['id', '@timestamp', 'first_seen', 'last_seen', 'detector', 'rule', 'score', 'severity', 'message', 'explanation', 'origin'] },
);

type Obj = Record<string, unknown>;
/** Every path to a value in the alert, objects and arrays included. */
function paths(v: unknown, at: string[] = [], out: string[][] = []): string[][] {
  if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push([...at, k]); paths((v as Obj)[k], [...at, k], out); }
  return out;
}
/** An alert broken at one place: a value replaced, a key removed, or an unknown key added. */
const broken = valid.chain((a) => {
  const all = paths(a);
  return fc.tuple(fc.nat(all.length), fc.constantFrom('set', 'delete', 'add'), leaf).map(([i, how, value]) => {
    const copy = structuredClone(a) as Obj;
    const path = all[i] ?? ['rule'];
    let parent: Obj = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Obj;
    const key = path.at(-1)!;
    if (how === 'delete') delete parent[key];
    else if (how === 'add' && parent[key] !== null && typeof parent[key] === 'object') (parent[key] as Obj).zz_unknown = value;
    else parent[key] = value;
    return copy;
  });
});
const alert = fc.oneof(valid, broken, broken);

const issues = (e: z.ZodError) => e.issues.map((i) => ({ path: i.path, message: i.message, code: i.code }));

/** The compiled parser's outcome equals the interpreted one's: success, output bytes, or the issues. */
function expectSame(input: unknown): void {
  const fast = AlertCompiled.safeParse(input);
  const ref = Alert.safeParse(input);
  expect(fast.success).toBe(ref.success);
  if (fast.success && ref.success) {
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(ref.data));
    // node's strict deep equality (same keys, values, prototypes), not toStrictEqual: that one
    // compares `.constructor`, which an own `constructor` key of a record makes unequal to itself.
    expect(isDeepStrictEqual(fast.data, ref.data), 'the same values, keys and prototypes').toBe(true);
  } else if (!fast.success && !ref.success) expect(issues(fast.error)).toEqual(issues(ref.error));
}

describe('AlertCompiled against Alert (interpreted)', () => {
  it('is compiled: z.compile accepts the schema without falling back', () => {
    expect(() => z.compile(Alert, { strict: true })).not.toThrow();
    expect(AlertCompiled).not.toBe(Alert);
  });

  it('same outcome on the fixture alerts and their JSON round trips', () => {
    for (const a of buildAlerts(300, 5)) {
      expectSame(a);
      expectSame(JSON.parse(JSON.stringify(a)));
    }
  });

  it('same outcome on generated alerts, valid and broken', () => {
    fc.assert(fc.property(alert, (a) => expectSame(a)), { numRuns: Math.max(1000, Number(process.env.FUZZ_RUNS ?? 100)) });
  });

  it('same outcome on JSON round trips of the generated alerts (what the indexer reads off the bus)', () => {
    fc.assert(fc.property(alert, (a) => expectSame(JSON.parse(JSON.stringify(a)))), { numRuns: Math.max(500, Number(process.env.FUZZ_RUNS ?? 100)) });
  });

  it('some generated alerts are valid, some are not (the property is not vacuous)', () => {
    const samples = fc.sample(alert, { numRuns: 2000, seed: 11 });
    const ok = samples.filter((a) => Alert.safeParse(a).success).length;
    expect(ok).toBeGreaterThan(200);
    expect(samples.length - ok).toBeGreaterThan(200);
  });

  it("the store's refusal reasons are the interpreted parser's", () => {
    const bad = { ...buildAlerts(1, 9)[0], score: 2, severity: 'severe' };
    const { failed } = validateBatch([bad]);
    const ref = Alert.safeParse(bad);
    expect(ref.success).toBe(false);
    const reason = ref.success ? '' : ref.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    expect(failed).toEqual([{ id: bad.id, reason: `invalid alert: ${reason}`, retriable: false }]);
  });
});
