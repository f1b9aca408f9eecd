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

/** The objects inside an alert that a mutation may reach, by their key at the top level. */
const NESTED = ['rule', 'explanation', 'source', 'destination', 'host', 'network', 'origin', 'federation', 'threat', 'labels'] as const;
/**
 * A valid alert broken at one place: a field at the top level or in one of its objects set to an
 * edge value or removed, or a key (possibly empty or `__proto__`) added beside them.
 */
const broken = fc
  .tuple(valid, fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...NESTED) }), fc.nat(), fc.constantFrom('set', 'delete', 'add'), fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor')), leaf)
  .map(([a, within, at, how, name, value]) => {
    const copy = structuredClone(a) as Record<string, unknown>;
    const inner = within === undefined ? undefined : copy[within];
    const target = inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : copy;
    const keys = Object.keys(target);
    const key = keys[at % Math.max(1, keys.length)];
    if (how === 'add' || key === undefined) Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
    else if (how === 'delete') delete target[key];
    else target[key] = value;
    return copy;
  });
const alert = fc.oneof(valid, broken, broken);

/** What a parse decides, in a form two parsers can be compared on. */
function outcome(schema: typeof Alert, input: unknown) {
  const r = schema.safeParse(input);
  return r.success
    ? { success: true, json: JSON.stringify(r.data), data: r.data }
    : { success: false, issues: r.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })) };
}

/** The compiled parser's outcome equals the interpreted one's: success, output bytes, or the issues. */
function expectSame(input: unknown): void {
  const { data: fast, ...fastRest } = outcome(AlertCompiled, input);
  const { data: ref, ...refRest } = outcome(Alert, input);
  expect(fastRest).toEqual(refRest);
  // node's strict deep equality (same keys, values, prototypes), not toStrictEqual: that one
  // compares `.constructor`, which an own `constructor` key of a record makes unequal to itself.
  expect(isDeepStrictEqual(fast, ref), 'the same values, keys and prototypes').toBe(true);
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

  it('same outcome on generated alerts, valid and broken, and on their JSON round trips (what the indexer reads off the bus)', () => {
    fc.assert(
      fc.property(alert, (a) => {
        expectSame(a);
        expectSame(JSON.parse(JSON.stringify(a)));
      }),
      { numRuns: Math.max(1000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
  });

  it('the generator makes both valid and invalid alerts (the property is not vacuous)', () => {
    const verdicts = fc.sample(alert, { numRuns: 2000, seed: 11 }).map((a) => outcome(Alert, a).success);
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(200);
    expect(verdicts.filter((v) => !v).length).toBeGreaterThan(200);
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
