import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CidrSet } from '@soc/netaddr';
import * as schema from '@soc/schema';
import { readLines } from './io.ts';
import { normaliseBatch } from './parse.ts';
import { fixtureLines, mutations } from './testing.ts';
import type { ParseContext, ParseOutcome } from './types.ts';
import { zeekPathFromFileName } from './zeek/record.ts';

/**
 * The parsers validate with `EcsEvent`, the compiled schema. Here the same parsers are loaded a
 * second time with `EcsEvent` swapped for the interpreted `EcsEventReference`, and both run over
 * every line of the vendored fixtures and, when present, of the shared real Zeek data: each line
 * must give the same outcome, byte for byte (the serialised event, as the bus stores it) or
 * reason for reason. Mutations of the fixture lines add the rejections and edge cases.
 */

vi.resetModules();
vi.doMock('@soc/schema', async () => ({ ...(await vi.importActual<typeof schema>('@soc/schema')), EcsEvent: schema.EcsEventReference }));
const reference = await import('./parse.ts');
const referenceSchema = await import('@soc/schema');
vi.doUnmock('@soc/schema');

const RECEIVED = new Date('2026-12-01T10:00:00.123Z');
const internal = new CidrSet(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8']);
const DATA = new URL('../../../../shared/data/', import.meta.url).pathname;
const WRCCDC = join(DATA, 'zeek-wrccdc-2018');
const REAL = join(DATA, 'zeek-real');

const show = (o: ParseOutcome | null): string => (o === null ? 'directive' : o.ok ? JSON.stringify(o.event) : `rejected: ${o.reason}`);

/** Both parsers over the lines, with and without site CIDRs and an observer; returns how many lines were compared. */
function expectSameOutcomes(lines: string[], ctx: Omit<ParseContext, 'source'>): number {
  for (const extra of [{}, { internal, observer: { ip: '127.0.0.1', name: 'sensor-1' } }]) {
    const c = { source: 'test', receivedAt: RECEIVED, ...ctx, ...extra };
    const fast = normaliseBatch(lines, c).outcomes.map(show);
    const ref = reference.normaliseBatch(lines, c).outcomes.map(show);
    expect(fast.length).toBe(ref.length);
    for (let i = 0; i < fast.length; i++) if (fast[i] !== ref[i]) expect({ line: lines[i], fast: fast[i] }).toEqual({ line: lines[i], fast: ref[i] });
  }
  return lines.length;
}

async function linesOf(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(path)) out.push(l);
  return out;
}

describe('compiled EcsEvent against the interpreted reference, over whole parses', () => {
  const fixtures = ['conn.json', 'conn.tsv.log', 'suricata.eve.json', 'syslog.txt'];

  it('the reference parsers are a second copy, validating with the interpreted schema', () => {
    expect(referenceSchema.EcsEvent).toBe(schema.EcsEventReference);
    expect(schema.EcsEvent).not.toBe(schema.EcsEventReference);
    expect(reference.normaliseBatch).not.toBe(normaliseBatch);
  });

  it('every fixture line, in every format', () => {
    let n = 0;
    for (const f of fixtures) for (const format of ['auto', 'zeek', 'suricata', 'syslog', 'ecs'] as const) n += expectSameOutcomes(fixtureLines(f), { format, zeekPath: 'conn' });
    expect(n).toBeGreaterThan(150);
  });

  it('mutated fixture lines (rejections and edge cases included)', () => {
    const lines = mutations(fixtures.flatMap(fixtureLines));
    expect(lines.length).toBeGreaterThan(150);
    expectSameOutcomes(lines, { format: 'auto', zeekPath: 'conn' });
    const rejected = normaliseBatch(lines, { format: 'auto', source: 'test', receivedAt: RECEIVED }).stats.rejected;
    expect(rejected).toBeGreaterThan(10); // the reasons were compared too, not only events
  });

  it('events re-sent as ECS (the passthrough validates twice)', () => {
    const events = normaliseBatch(fixtures.flatMap(fixtureLines), { format: 'auto', source: 'test', receivedAt: RECEIVED, zeekPath: 'conn' }).outcomes.flatMap((o) => (o?.ok ? [JSON.stringify(o.event)] : []));
    expectSameOutcomes([...events, ...mutations(events.slice(0, 40))], { format: 'auto' });
  });

  const wrccdc = existsSync(WRCCDC) ? readdirSync(WRCCDC).filter((f) => f.endsWith('.gz')) : [];
  if (!wrccdc.length) console.warn(`skipping the WRCCDC part of the fast-path comparison: ${WRCCDC} not found`);
  it.skipIf(!wrccdc.length)('every line of the WRCCDC 2018 Zeek logs (JSON and TSV)', { timeout: 300_000 }, async () => {
    let n = 0;
    for (const f of wrccdc) n += expectSameOutcomes(await linesOf(join(WRCCDC, f)), { format: 'auto', zeekPath: zeekPathFromFileName(f) });
    expect(n).toBeGreaterThan(30_000);
  });

  const captures = existsSync(REAL) ? readdirSync(REAL).filter((d) => existsSync(join(REAL, d, 'conn.log.gz'))) : [];
  if (!captures.length) console.warn(`skipping the zeek-real part of the fast-path comparison: ${REAL} not found`);
  it.skipIf(!captures.length)('every line of the real Zeek conn logs (TSV)', { timeout: 300_000 }, async () => {
    let n = 0;
    for (const d of captures) n += expectSameOutcomes(await linesOf(join(REAL, d, 'conn.log.gz')), { format: 'zeek' });
    expect(n).toBeGreaterThan(1000);
  });
});
