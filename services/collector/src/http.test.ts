import { describe, expect, it } from 'vitest';
import { splitBody, zeekTsvSegments } from './http.ts';

describe('splitBody', () => {
  it('splits NDJSON with CRLF and blank lines, keeping line numbers', () => {
    expect(splitBody('{"a":1}\r\n\r\n{"b":2}\n', 100)).toEqual([{ raw: '{"a":1}', line: 1 }, { raw: '{"b":2}', line: 3 }]);
  });

  it('splits a JSON array into one line per element', () => {
    expect(splitBody(' [{"a":1}, {"b":[2]}]', 100)).toEqual([{ raw: '{"a":1}', line: 1 }, { raw: '{"b":[2]}', line: 2 }]);
  });

  it('refuses a broken JSON array as a whole', () => {
    expect(() => splitBody('[{"a":1},', 100)).toThrow(/not valid JSON/);
  });

  it('marks lines over the limit for the dead-letter topic', () => {
    const [l] = splitBody('é'.repeat(60), 100);
    expect(l!.rejectReason).toBe('line exceeds 100 bytes');
    expect(splitBody('a'.repeat(100), 100)[0]!.rejectReason).toBeUndefined();
  });
});

describe('zeekTsvSegments', () => {
  it('attaches the header in force to each run of TSV rows', () => {
    const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', '#fields\tts\tuid', '#types\ttime\tstring'];
    const body = [...header, '1.0\tC1', '2.0\tC2', '#close\t2026', ...header.map((h) => h.replace('conn', 'dns')), '3.0\tC3'].join('\n');
    const segs = zeekTsvSegments(splitBody(body, 1000));
    expect(segs.map((s) => [s.header?.path, s.lines.map((l) => l.raw)])).toEqual([
      ['conn', ['1.0\tC1', '2.0\tC2']],
      ['dns', ['3.0\tC3']],
    ]);
  });

  it('leaves JSON bodies whole', () => {
    const lines = splitBody('{"a":1}\n{"b":2}', 100);
    expect(zeekTsvSegments(lines)).toEqual([{ lines }]);
  });
});
