import { describe, expect, it } from 'vitest';
import { splitBody } from './http.ts';

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
