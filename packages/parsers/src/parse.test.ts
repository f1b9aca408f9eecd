import { describe, expect, it } from 'vitest';
import { detectJsonKind, normaliseBatch, parseLine } from './parse.ts';
import { expectOk, fixtureLines } from './testing.ts';

const ctx = { format: 'auto' as const, source: 'test', observer: { ip: '192.0.2.1', hostname: 'col-1' } };

describe('parseLine', () => {
  it('an already-normalised event passes through with its id and original', () => {
    const first = expectOk(parseLine(fixtureLines('suricata.eve.json')[0]!, ctx));
    const again = expectOk(parseLine(JSON.stringify(first), ctx));
    expect(again.event.id).toBe(first.event.id);
    expect(again.event.original).toBe(first.event.original);
    expect(again.rule).toEqual(first.rule);
    expect(parseLine('{"@timestamp":"nope","event":{"kind":"event","dataset":"x"}}', ctx)).toMatchObject({ ok: false, reason: expect.stringMatching(/^ecs: /) });
  });

  it('without preserveOriginal, every event is the same but for event.original, ids included', () => {
    const lines = [...fixtureLines('suricata.eve.json'), ...fixtureLines('syslog.txt')];
    const receivedAt = new Date('2026-11-01T12:00:00Z'); // syslog lines without a time take it
    let compared = 0;
    for (const line of lines) {
      const kept = parseLine(line, { ...ctx, receivedAt });
      const dropped = parseLine(line, { ...ctx, receivedAt, preserveOriginal: false });
      expect(dropped.ok).toBe(kept.ok);
      if (!kept.ok || !dropped.ok) continue;
      expect(kept.event.event.original).toBe(line);
      expect(dropped.event.event).not.toHaveProperty('original');
      const { original: _o, ...rest } = kept.event.event;
      expect(dropped.event).toEqual({ ...kept.event, event: rest });
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
    // An already-normalised event re-sent loses its copy too; its id stays.
    const first = expectOk(parseLine(lines[0]!, ctx));
    const again = expectOk(parseLine(JSON.stringify(first), { ...ctx, preserveOriginal: false }));
    expect(again.event.id).toBe(first.event.id);
    expect(again.event).not.toHaveProperty('original');
  });

  it('detects JSON kinds', () => {
    expect(detectJsonKind({ '@timestamp': 'x', event: { dataset: 'a' } })).toBe('ecs');
    expect(detectJsonKind({ event_type: 'flow' })).toBe('suricata');
    expect(detectJsonKind({ ts: 1, uid: 'C' })).toBe('zeek');
    expect(detectJsonKind({ hello: 1 })).toBeUndefined();
    expect(parseLine('{"hello":1}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('neither') });
  });

  it('observer from the context, CRLF tolerated, oversize and non-object JSON refused', () => {
    const e = expectOk(parseLine(`${fixtureLines('syslog.txt')[3]}\r`, ctx));
    expect(e.observer).toEqual({ ip: '192.0.2.1', hostname: 'col-1' });
    expect(e.event.original?.endsWith('\r')).toBe(false);
    expect(parseLine('x'.repeat(1_048_577), ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('exceeds') });
    expect(parseLine('[1,2]', { ...ctx, format: 'suricata' })).toMatchObject({ ok: false, reason: 'JSON line is not an object' });
    expect(parseLine('plain text', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('auto') });
  });

  it('normaliseBatch counts parsed, rejected and header lines', () => {
    const lines = [...fixtureLines('conn.tsv.log'), 'garbage', ''];
    const { stats } = normaliseBatch(lines, { ...ctx, format: 'zeek' });
    expect(stats).toMatchObject({ lines: 13, parsed: 2, rejected: 2, directives: 9 });
    expect(stats.reasons).toEqual({ 'zeek TSV': 1, 'empty line': 1 });
  });
});
