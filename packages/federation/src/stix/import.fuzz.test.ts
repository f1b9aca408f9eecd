import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@soc/errors';
import { Alert } from '@soc/schema';
import { fromStixBundle } from './import.ts';
import { validateStixObjects } from './validate.ts';

/**
 * Property: whatever a partner, MISP or an attacker POSTs to /v1/stix, the import either refuses
 * the bundle whole with a ValidationError (the API's 400; only for a broken envelope) or answers
 * every object once: imported, or skipped/rejected with a reason; each imported indicator is one
 * valid alert. Nothing else escapes (no 500), nothing hangs.
 * Cases per property: FUZZ_RUNS (small in `pnpm test`, many in `pnpm fuzz`).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const tried: Record<string, number> = {};

const uuid = fc.uuid({ version: 4 });
const stixTime = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
/** Strings as hostile senders write them: unicode, lone surrogates, control characters, long. */
const nasty = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ maxLength: 3000 }), fc.constantFrom('', ' ', '\ud800', '\udc00x', '\u0000', '\u2028', 'x'.repeat(5000)));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const pattern = fc.oneof(
  ipv4.map((ip) => `[ipv4-addr:value = '${ip}']`),
  ipv6.map((ip) => `[ipv6-addr:value = '${ip}']`),
  fc.tuple(ipv4, ipv4).map(([a, b]) => `[ipv4-addr:value = '${a}'] OR [ipv4-addr:value = '${b}']`),
  fc.tuple(ipv4, fc.integer({ min: -5, max: 40 })).map(([ip, bits]) => `[ipv4-addr:value = '${ip}/${bits}']`),
  fc.constantFrom("[domain-name:value = 'evil.example']", "[ipv4-addr:value = '999.1.1.1']", "[ipv4-addr:value = ''']", '[', "[ipv4-addr:value MATCHES '.*']"),
  nasty,
);
const marking = fc.constantFrom(
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
  'marking-definition--00000000-0000-4000-8000-000000000000',
);

const indicator = fc.record(
  {
    type: fc.constant('indicator'),
    spec_version: fc.constant('2.1'),
    id: uuid.map((u) => `indicator--${u}`),
    created: stixTime,
    modified: stixTime,
    name: nasty,
    description: nasty,
    pattern,
    pattern_type: fc.constantFrom('stix', 'stix', 'stix', 'sigma', 'snort'),
    valid_from: stixTime,
    valid_until: stixTime,
    revoked: fc.boolean(),
    confidence: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double()),
    x_opencti_score: fc.oneof(fc.integer(), fc.double()),
    object_marking_refs: fc.array(marking, { maxLength: 3 }),
    created_by_ref: uuid.map((u) => `identity--${u}`),
  },
  { requiredKeys: ['type', 'spec_version', 'id', 'created', 'modified', 'pattern', 'pattern_type', 'valid_from'] },
).map((o) => {
  // Structurally valid (the validator's time orders hold), so the import itself is what is exercised.
  const later = (a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : new Date(Date.parse(a) + 1000).toISOString());
  return { ...o, modified: later(o.created, o.modified), ...(o.valid_until === undefined ? {} : { valid_until: later(o.valid_from, o.valid_until) }) };
});
const identity = fc.record({ type: fc.constant('identity'), spec_version: fc.constant('2.1'), id: uuid.map((u) => `identity--${u}`), created: stixTime, name: nasty.filter((n) => n !== '') }).map((o) => ({ ...o, modified: o.created }));
const bundle = fc.record({
  type: fc.constant('bundle'),
  id: uuid.map((u) => `bundle--${u}`),
  objects: fc.array(fc.oneof({ weight: 5, arbitrary: indicator }, { weight: 1, arbitrary: identity }), { maxLength: 12 }),
});

/** A bundle, then a few random edits anywhere in it (what a buggy exporter or an attacker does). */
const mutated = fc.tuple(bundle, fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 })).map(([b, edits]) => {
  const copy = JSON.parse(JSON.stringify(b)) as { objects: Record<string, unknown>[] };
  for (const [i, key, value] of edits) {
    const o = copy.objects[i % Math.max(1, copy.objects.length)];
    if (o && typeof o === 'object' && !Array.isArray(o)) o[key] = value;
  }
  return copy;
});

const count = (k: string, n = 1) => (tried[k] = (tried[k] ?? 0) + n);

function accounted(input: unknown, label: string): void {
  count(label);
  const now = new Date('2026-06-01T00:00:00Z');
  let result: ReturnType<typeof fromStixBundle>;
  try {
    result = fromStixBundle(input, { source: 'fuzz-partner', now });
  } catch (err) {
    // Refused whole, and only when the validator the API runs first says so.
    expect(err).toBeInstanceOf(ValidationError);
    expect(validateStixObjects(input).bundle.length).toBeGreaterThan(0);
    count(`${label}: refused whole`);
    return;
  }
  count(`${label}: imported`);
  count(`${label}: alerts`, result.alerts.length);
  count(`${label}: skipped`, result.counts.skipped);
  count(`${label}: rejected`, result.counts.rejected);
  const objects = ((input as { objects?: unknown[] }).objects ?? []) as { type?: unknown }[];
  expect(result.objects).toHaveLength(objects.length);
  expect(result.counts.imported + result.counts.skipped + result.counts.rejected).toBe(objects.length);
  expect(result.alerts.length).toBe(result.objects.filter((o) => o.type === 'indicator' && o.outcome === 'imported').length);
  for (const a of result.alerts) expect(Alert.safeParse(a).success).toBe(true);
  for (const s of result.objects) if (s.outcome !== 'imported') expect(s.reason?.length).toBeGreaterThan(0);
  for (const i of result.indicators) expect(result.alerts.some((a) => a.id === i.alert_id)).toBe(true);
}

describe('STIX import under fuzzing (POST /v1/stix)', () => {
  it('generated bundles: every object answered, every imported indicator a valid alert', () => {
    fc.assert(fc.property(bundle, (b) => accounted(b, 'generated bundles')), { numRuns: RUNS });
  });

  it('mutated bundles and arbitrary JSON: refused whole with a reason or accounted for, never another error', () => {
    fc.assert(fc.property(fc.oneof(mutated, fc.jsonValue({ maxDepth: 4 }), fc.record({ type: fc.constant('bundle'), id: fc.string(), objects: fc.anything() })), (b) => accounted(b, 'mutated bundles and arbitrary JSON')), { numRuns: RUNS });
    // The figures for the closing note: cases tried per property.
    console.info(JSON.stringify({ fuzz: 'stix-import', cases: tried }));
  });
});
