import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { expect } from 'vitest';
import { CidrSet } from '@soc/netaddr';
import type { EcsEvent } from '@soc/schema';
import { encodeLine, eventKey } from './encode.ts';
import { parseLine } from './parse.ts';
import type { EncodedEvent, EncodeOutcome, Format, ParseContext, ParseOutcome } from './types.ts';

/** Test helpers (not exported from the package). */
export const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8');
export const fixtureLines = (name: string): string[] => fixture(name).split('\n').filter((l) => l !== '');

export function expectOk(o: ParseOutcome | null | undefined): EcsEvent {
  if (!o || !o.ok) throw new Error(`expected an event, got ${JSON.stringify(o)}`);
  return o.event;
}

/** An event without what legitimately differs between two renderings of one record. */
export function identity(e: EcsEvent): unknown {
  const { id: _id, original: _o, ingested: _i, ...event } = e.event;
  return { ...e, event };
}

/** Each JSON line with one field at a time set to values on either side of the schema's bounds. */
export function mutations(lines: string[]): string[] {
  const values: unknown[] = [null, '', {}, [], { a: {} }, -1, 1.5, 65536, 2 ** 53, 1e300, 'x'.repeat(300), '\ud800', '2026-02-30T00:00:00Z', '010.0.0.1', 'fe80::1%eth0', true];
  const out: string[] = [];
  lines.forEach((line, n) => {
    if (!line.startsWith('{')) return;
    const keys = Object.keys(JSON.parse(line) as object);
    keys.forEach((k, i) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      o[k] = values[(n + i) % values.length];
      out.push(JSON.stringify(o));
    });
    out.push(line.replace('{', '{"__proto__":{"x":1},'), line.replace(/}$/, ',"tcp":{},"labels":{"a":{}}}'));
  });
  return out;
}

/** What a direct encoder must give: `parseLine`'s event as `JSON.stringify` writes it, and its bus key. */
export function referenceEncoding(line: string, ctx: ParseContext): EncodeOutcome {
  const o = parseLine(line, ctx);
  return o.ok ? { ok: true, json: JSON.stringify(o.event), key: eventKey(o.event) } : o;
}

/**
 * The contexts a direct encoder is held to the generic path in: every format, with and without
 * site networks, observers (refused ones too) and the original; `withPath`/`otherPath` add a
 * Zeek path hint that fits the lines and one that does not.
 */
export function encoderContexts(withPath: Partial<ParseContext> = {}, otherPath: Partial<ParseContext> = {}): ParseContext[] {
  const base = { source: 'test', receivedAt: new Date('2026-12-01T10:00:00.123Z') };
  const internal = new CidrSet(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8']);
  return [
    { ...base, format: 'auto' },
    { ...base, format: 'zeek', internal, observer: { ip: '127.0.0.1' } },
    { ...base, format: 'suricata', internal, observer: { ip: '127.0.0.1' } },
    { ...base, format: 'auto', ...withPath, preserveOriginal: false, observer: { ip: '::ffff:127.0.0.1', name: 'sensor-1', hostname: undefined } },
    { ...base, format: 'auto', ...otherPath, internal },
    { ...base, format: 'auto', observer: { ip: 'not-an-ip' } },
    { ...base, format: 'auto', observer: {} },
    { ...base, format: 'auto', observer: { hostname: 'sensor-2' } },
    { ...base, format: 'ecs' },
  ];
}

/**
 * Every line in every context: `encodeLine` gives what the generic path gives, and so does the
 * encoder itself wherever it takes a line (in the formats it serves). Returns how many it took.
 */
export function expectEncodedAsParsed(lines: string[], encoder: (line: string, ctx: ParseContext) => EncodedEvent | undefined, formats: Format[], contexts: ParseContext[]): number {
  let direct = 0;
  for (const ctx of contexts) {
    for (const line of lines) {
      const want = referenceEncoding(line, ctx);
      const got = encodeLine(line, ctx);
      const same = got.ok && want.ok ? got.json === want.json && got.key === want.key : !got.ok && !want.ok && got.reason === want.reason;
      if (!same) expect({ line, ctx, got }).toEqual({ line, ctx, got: want });
      if (!formats.includes(ctx.format) || !line.startsWith('{')) continue;
      const fast = encoder(line.endsWith('\r') ? line.slice(0, -1) : line, ctx);
      if (fast === undefined) continue;
      direct++;
      if (!want.ok || fast.json !== want.json || fast.key !== want.key) expect({ line, ctx, fast }).toEqual({ line, ctx, fast: want });
    }
  }
  return direct;
}

/** A generated field left out of the record. */
export const ABSENT = Symbol('absent');
/** A field mostly of the common shape, sometimes out of it or absent, so that a direct encoder's both sides are exercised. */
export const field = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>, absent = 1) =>
  fc.oneof({ weight: 40, arbitrary: good }, { weight: 1, arbitrary: bad }, { weight: absent, arbitrary: fc.constant(ABSENT) });
/** A field as often absent as present. */
export const optional = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) => field(good, bad, 40);
export const pick = (...xs: unknown[]) => fc.constantFrom(...xs);
