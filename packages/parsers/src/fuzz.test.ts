import { describe, expect, it } from 'vitest';
import { rng } from '@soc/prng';
import { EcsEvent } from '@soc/schema';
import { normaliseBatch, parseLine } from './parse.ts';
import { fixtureLines } from './testing.ts';
import { parseZeekTsvHeader } from './zeek/tsv.ts';
import type { Format } from './types.ts';


const SEED = 20180324;
const N = 12_000;
const tsvLines = fixtureLines('conn.tsv.log');
const header = parseZeekTsvHeader(tsvLines);
const seeds = [...fixtureLines('conn.json'), ...fixtureLines('suricata.eve.json'), ...fixtureLines('syslog.txt'), ...tsvLines.filter((l) => !l.startsWith('#'))];

function generate(rand: () => number): string[] {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(xs: T[]): T => xs[int(xs.length)]!;
  const randomUnicode = (len: number) => Array.from({ length: len }, () => String.fromCodePoint(pick([int(0x80), int(0xd7ff), 0xe000 + int(0x1fff), 0x10000 + int(0xfffff)]))).join('');
  const mutators: (() => string)[] = [
    () => { const s = pick(seeds).split(''); for (let k = 0; k < 1 + int(6); k++) s[int(s.length)] = String.fromCharCode(int(256)); return s.join(''); },
    () => { const s = pick(seeds); return s.slice(0, int(s.length)); },
    () => { const a = pick(seeds), b = pick(seeds); return a.slice(0, int(a.length)) + b.slice(int(b.length)); },
    () => randomUnicode(int(200)),
    () => pick(seeds).replace(/\d+/g, () => pick(['1e308', '-1e309', '99999999999999999999999', 'NaN', '-0', '4294967296', '0.0000001'])),
    () => { const d = 1 + int(5000); return '['.repeat(d) + ']'.repeat(d); },
    () => { const d = 1 + int(200); return '{"a":'.repeat(d) + '1' + '}'.repeat(d); },
    () => { const o = JSON.parse(pick(seeds.filter((s) => s.startsWith('{')))) as Record<string, unknown>; const k = pick(Object.keys(o)); o[k] = pick([null, [], {}, -1, 1e300, 'x'.repeat(int(5000)), true, [[1]], { ts: 1 }]); return JSON.stringify(o); },
    () => `<${int(300)}>${pick(['1 ', '', 'Oct 11 22:14:15 ', '1 - - - - - ['])}${randomUnicode(int(40))}`,
    () => pick(['', ' ', '\r', '#fields\tts', '{}', '[]', 'null', '"str"', '{"event_type":1}', '{"ts":null}', '{"@timestamp":"x","event":{"kind":"alert"}}']),
  ];
  return Array.from({ length: N }, () => pick(mutators)());
}

const FORMATS: Format[] = ['auto', 'zeek', 'suricata', 'syslog', 'ecs'];

describe('fuzz: no input makes a parser throw; every line is accounted for', () => {
  const lines = generate(rng(SEED));

  for (const format of FORMATS) {
    it(`${format}: ${N} random and mutated lines`, () => {
      const ctx = { format, source: 'fuzz', zeekTsv: header.ok ? header.header : undefined, receivedAt: new Date('2024-01-01T00:00:00Z') };
      let ok = 0;
      let rejected = 0;
      for (const line of lines) {
        const o = parseLine(line, ctx);
        if (o.ok) {
          ok++;
          expect(EcsEvent.safeParse(o.event).success).toBe(true);
        } else {
          rejected++;
          expect(typeof o.reason).toBe('string');
          expect(o.reason.length).toBeGreaterThan(0);
          expect(o.reason).not.toMatch(/^internal parser error/);
        }
      }
      expect(ok + rejected).toBe(lines.length);
      const batch = normaliseBatch(lines, ctx).stats;
      expect(batch.parsed + batch.rejected + batch.directives).toBe(lines.length);
    });
  }
});
