import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EcsEvent, EcsEventReference } from './event.ts';

/**
 * `EcsEvent` is `EcsEventReference` compiled (`z.compile`). The compiled parser must accept
 * exactly what the interpreted one accepts, output the same value (byte for byte once
 * serialised: the bus record is that serialisation) and report the same issues. Checked here on
 * generated events, valid and broken; `packages/parsers/src/fastpath.test.ts` does the same on
 * every event the parsers make from the fixtures and the real data, and on mutations of them.
 */

/** Values that sit on either side of the schema's checks. */
const edgy = fc.constantFrom<unknown>(
  undefined, null, '', 'x', 'A'.repeat(65), 'é'.repeat(64), '😀'.repeat(40), '\ud800', 0, -0, -1, 1.5, 65535, 65536, 2 ** 53, 2 ** 53 - 1, 1e300, NaN, Infinity,
  true, [], {}, [1], ['a'], { a: undefined }, '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1%eth0', '010.0.0.1', '2001:db8::1', '1.2.3', '256.1.1.1',
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.123456789+00:00', '2026-01-01T00:00:00.1234567890Z', '2026-02-30T00:00:00Z', '2026-01-01 00:00:00Z', '2026-01-01T00:00:00',
  'alert', 'event', 'signal', 'network', 'intrusion_detection', 'connection', 'denied', 'success', 'unknown', 'SF',
);
const leaf = fc.oneof(edgy, fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.ipV4(), fc.ipV6(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
const opt = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('::ffff:10.0.0.1', '2001:db8::1'));
const time = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00+02:00', '2026-01-01T00:00:00.5-05:30'),
);
const endpoint = fc.record({ ip: opt(ip), port: opt(fc.integer({ min: 0, max: 65535 })), bytes: opt(fc.nat()), packets: opt(fc.nat()), mac: opt(fc.string({ maxLength: 64 })), domain: opt(fc.string()) }, { requiredKeys: [] });
const loose = fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', '0', 'a.b')), fc.oneof(leaf, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 });
/** Events the schema accepts (mostly: the generator does not know every bound). */
const valid = fc.record(
  {
    '@timestamp': time,
    event: fc.record(
      {
        id: fc.stringMatching(/^[0-9a-f]{32}$/),
        kind: fc.constantFrom('alert', 'event', 'metric', 'signal'),
        category: opt(fc.array(fc.constantFrom('network', 'web', 'file', 'intrusion_detection'), { maxLength: 3 })),
        type: opt(fc.array(fc.constantFrom('connection', 'start', 'end', 'info'), { maxLength: 3 })),
        dataset: fc.constantFrom('zeek.conn', 'suricata.alert', 'syslog'),
        module: opt(fc.constantFrom('zeek', 'suricata')),
        severity: opt(fc.integer({ min: 0, max: 1000 })),
        outcome: opt(fc.constantFrom('success', 'failure', 'unknown')),
        duration: opt(fc.double({ min: 0, max: 1e15, noNaN: true })),
        ingested: opt(time),
        original: opt(fc.string()),
      },
      { requiredKeys: ['id', 'kind', 'dataset'] },
    ),
    message: opt(fc.string()),
    source: opt(endpoint),
    destination: opt(endpoint),
    network: opt(fc.record({ transport: opt(fc.constantFrom('tcp', 'udp')), direction: opt(fc.constantFrom('inbound', 'internal')), bytes: opt(fc.nat()), community_id: opt(fc.string({ maxLength: 40 })) }, { requiredKeys: [] })),
    observer: opt(fc.record({ ip: opt(ip), hostname: opt(fc.string()) }, { requiredKeys: [] })),
    host: opt(fc.record({ name: opt(fc.string()), ip: opt(fc.array(ip, { maxLength: 3 })) }, { requiredKeys: [] })),
    related: opt(fc.record({ ip: opt(fc.array(ip, { maxLength: 3 })) }, { requiredKeys: [] })),
    labels: opt(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }))),
    tags: opt(fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })),
    zeek: opt(loose),
    suricata: opt(fc.record({ eve: loose })),
    dns: opt(loose),
  },
  { requiredKeys: ['@timestamp', 'event'] },
);

type Obj = Record<string, unknown>;
/** Every path to a value in the event, objects and arrays included. */
function paths(v: unknown, at: string[] = [], out: string[][] = []): string[][] {
  if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push([...at, k]); paths((v as Obj)[k], [...at, k], out); }
  return out;
}
/** A valid event broken at one place: a value replaced, a key removed, or an unknown key added. */
const broken = valid.chain((e) => {
  const all = paths(e);
  return fc.tuple(fc.nat(all.length), fc.constantFrom('set', 'delete', 'add'), leaf).map(([i, how, value]) => {
    const copy = structuredClone(e) as Obj;
    const path = all[i] ?? ['event'];
    let parent: Obj = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Obj;
    const key = path.at(-1)!;
    if (how === 'delete') delete parent[key];
    else if (how === 'add' && parent[key] !== null && typeof parent[key] === 'object') (parent[key] as Obj).zz_unknown = value;
    else parent[key] = value;
    return copy;
  });
});
const event = fc.oneof(valid, broken, broken);

const issues = (e: z.ZodError) => e.issues.map((i) => ({ path: i.path, message: i.message, code: i.code }));

/** The compiled parser's outcome equals the interpreted one's: success, output bytes, or the issues. */
function expectSame(input: unknown): void {
  const fast = EcsEvent.safeParse(input);
  const ref = EcsEventReference.safeParse(input);
  expect(fast.success).toBe(ref.success);
  if (fast.success && ref.success) {
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(ref.data));
    // node's strict deep equality, not toStrictEqual: that one compares `.constructor`, which an
    // own `constructor: NaN` key of a loose object (generated) makes unequal to itself.
    expect(isDeepStrictEqual(fast.data, ref.data), 'the same values, keys and prototypes').toBe(true);
  } else if (!fast.success && !ref.success) expect(issues(fast.error)).toEqual(issues(ref.error));
}

describe('EcsEvent (compiled) against EcsEventReference (interpreted)', () => {
  it('is compiled: z.compile accepts the schema without falling back', () => {
    expect(() => z.compile(EcsEventReference, { strict: true })).not.toThrow();
    expect(EcsEvent).not.toBe(EcsEventReference);
  });

  it('same outcome on generated events, valid and broken', () => {
    fc.assert(fc.property(event, (e) => expectSame(e)), { numRuns: Math.max(1000, Number(process.env.FUZZ_RUNS ?? 100)) });
  });

  it('same outcome on JSON round trips of the generated events (what a resent event looks like)', () => {
    fc.assert(fc.property(event, (e) => expectSame(JSON.parse(JSON.stringify(e)))), { numRuns: Math.max(500, Number(process.env.FUZZ_RUNS ?? 100)) });
  });

  it('some generated events are valid, some are not (the property is not vacuous)', () => {
    const samples = fc.sample(event, { numRuns: 2000, seed: 11 });
    const ok = samples.filter((e) => EcsEventReference.safeParse(e).success).length;
    expect(ok).toBeGreaterThan(20);
    expect(ok).toBeLessThan(samples.length - 20);
  });
});
