import { describe, expect, it } from 'vitest';
import { collectorRoutes, splitBody, zeekTsvSegments } from './http.ts';

describe('splitBody', () => {
  it('splits NDJSON with CRLF and blank lines, keeping line numbers', () => {
    expect(splitBody('{"a":1}\r\n\r\n{"b":2}\n', 100)).toEqual([{ raw: '{"a":1}', line: 1 }, { raw: '{"b":2}', line: 3 }]);
  });

  it('splits a JSON array into one line per element, keeping its source text', () => {
    expect(splitBody(' [{"a":1}, {"b":[2]},\n "s,]\\"", 3 ]', 100)).toEqual([{ raw: '{"a":1}', line: 1 }, { raw: '{"b":[2]}', line: 2 }, { raw: '"s,]\\""', line: 3 }, { raw: '3', line: 4 }]);
    expect(splitBody('[ ]', 100)).toEqual([]);
  });

  it('splits a deeply nested JSON array without recursing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(splitBody(`[{"a":1},${deep}]`, 1 << 20).map((l) => l.raw.length)).toEqual([7, deep.length]);
  });

  it('keeps lines that hold only whitespace, so the parser can reject them with a reason', () => {
    const body = ['\v', '\f', '\u2028', ' ', '\u00a0', '\ufeff', '', '\r', '{"a":1}'].join('\n');
    expect(splitBody(body, 100).map((l) => l.raw)).toEqual(['\v', '\f', '\u2028', ' ', '\u00a0', '\ufeff', '{"a":1}']);
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
    const { segments: segs, directives } = zeekTsvSegments(splitBody(body, 1000), 'zeek');
    expect(directives).toBe(15);
    expect(segs.map((s) => [s.header?.path, s.lines.map((l) => l.raw)])).toEqual([
      ['conn', ['1.0\tC1', '2.0\tC2']],
      ['dns', ['3.0\tC3']],
    ]);
  });

  it('leaves JSON bodies whole', () => {
    const lines = splitBody('{"a":1}\n{"b":2}', 100);
    expect(zeekTsvSegments(lines, 'auto')).toEqual({ segments: [{ lines }], directives: 0 });
  });

  it('leaves # lines to the parser in formats that have no Zeek header', () => {
    const lines = splitBody('#comment\n{"b":2}', 100);
    expect(zeekTsvSegments(lines, 'suricata')).toEqual({ segments: [{ lines }], directives: 0 });
  });
});

describe('POST /v1/events', () => {
  it('answers 503 with Retry-After when the bus cannot accept, and 202 with counts when it can', async () => {
    const { BackendUnavailableError } = await import('@soc/errors');
    const { TokenVerifier } = await import('@soc/config');
    const { createHttpHandler, listen } = await import('@soc/http');
    const { Metrics, createLogger } = await import('@soc/telemetry');
    let busUp = false;
    const ingest = {
      submit: async (lines: { raw: string }[]) => {
        if (!busUp) throw new BackendUnavailableError('bus full');
        return { accepted: lines.length, rejected: 0, errors: [] };
      },
    };
    const token = 'soc_s_' + 'z'.repeat(40);
    const producer = { send: async () => [], close: async () => {} };
    const routes = collectorRoutes({ ingest, producer, maxBodyBytes: 1 << 20, maxLineBytes: 1 << 16, maxLinesPerRequest: 100, eventsPerSecond: 1000, burst: 1000 });
    const server = await listen(createHttpHandler({ service: 'collector', routes, verifier: new TokenVerifier([{ name: 's', role: 'sensor', token }]), logger: createLogger('t', { level: 'silent' }), metrics: new Metrics({ defaults: false }) }), '127.0.0.1', 0);
    try {
      const post = () => fetch(`${server.url}/v1/events`, { method: 'POST', body: '{"a":1}\n{"b":2}', headers: { authorization: `Bearer ${token}` } });
      const down = await post();
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      busUp = true;
      const up = await post();
      expect(up.status).toBe(202);
      expect(await up.json()).toEqual({ accepted: 2, rejected: 0, errors: [] });
      const tooMany = await fetch(`${server.url}/v1/events`, { method: 'POST', body: Array(101).fill('{}').join('\n'), headers: { authorization: `Bearer ${token}` } });
      expect(tooMany.status).toBe(413);
    } finally {
      await server.close();
    }
  });
});
