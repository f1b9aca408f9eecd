import { describe, expect, it } from 'vitest';
import { normaliseBatch, parseLine } from './parse.ts';
import { expectOk, fixtureLines } from './testing.ts';

const receivedAt = new Date('2024-01-02T10:00:00Z');
const ctx = { format: 'syslog' as const, source: 'syslog:udp', observer: { ip: '192.0.2.7' }, receivedAt };
const lines = fixtureLines('syslog.txt');
const out = normaliseBatch(lines, ctx).outcomes;

describe('syslog RFC 5424', () => {
  it('parses header, structured data and strips the BOM', () => {
    const e = expectOk(out[0]);
    expect(e['@timestamp']).toBe('2003-10-11T22:14:15.003000Z');
    expect(e.event).toMatchObject({ dataset: 'syslog', kind: 'event' });
    expect(e.log?.syslog).toEqual({
      priority: 165, version: '1', hostname: 'mymachine.example.com', appname: 'evntslog', procid: '1234', msgid: 'ID47',
      facility: { code: 20, name: 'local4' }, severity: { code: 5, name: 'notice' },
      structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' }, 'examplePriority@32473': { class: 'high' } },
    });
    expect(e.message).toBe('An application event log entry');
    expect(e.host?.hostname).toBe('mymachine.example.com');
    expect(e.process).toEqual({ name: 'evntslog', pid: 1234 });
    expect(e.observer).toEqual({ ip: '192.0.2.7' });
  });

  it('NILVALUEs', () => {
    const e = expectOk(out[1]);
    expect(e.log?.syslog).toMatchObject({ appname: 'su', msgid: 'ID47', facility: { code: 4, name: 'auth' }, severity: { code: 2, name: 'critical' } });
    expect(e.log?.syslog?.procid).toBeUndefined();
    const allNil = expectOk(out[2]);
    expect(allNil['@timestamp']).toBe(receivedAt.toISOString());
    expect(allNil.message).toBeUndefined();
  });

  it('escapes in parameter values', () => {
    const e = expectOk(out[10]);
    expect(e.log?.syslog?.structured_data).toEqual({ 'x@1': { k: 'a "q" ] \\ b' } });
    expect(e.message).toBe('msg');
  });

  it('malformed 5424 is rejected with a reason', () => {
    expect(out[7]).toMatchObject({ ok: false, reason: expect.stringContaining('TIMESTAMP') });
    expect(out[9]).toMatchObject({ ok: false, reason: expect.stringContaining('[unclosed]') });
    expect(parseLine('<1>1 - h a p m [x k="open', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('unterminated') });
  });
});

describe('syslog RFC 3164', () => {
  it('BSD header with tag', () => {
    const e = expectOk(out[3]);
    expect(e['@timestamp']).toBe('2023-10-11T22:14:15.000000Z'); // October is in the future in January: last year
    expect(e.host?.hostname).toBe('mymachine');
    expect(e.process?.name).toBe('su');
    expect(e.message).toBe("'su root' failed for lonvick on /dev/pts/8");
    expect(e.log?.syslog).toMatchObject({ priority: 34, facility: { code: 4 }, severity: { code: 2 } });
  });

  it('space-padded day and pid', () => {
    const e = expectOk(parseLine(lines[4]!, { ...ctx, receivedAt: new Date('2024-03-04T09:06:00Z') }));
    expect(e['@timestamp']).toBe('2024-03-04T09:05:01.000000Z');
    expect(e.process).toEqual({ name: 'sshd', pid: 2911 });
    expect(e.host?.hostname).toBe('web01');
  });

  it('tolerates a missing timestamp/host and a missing PRI', () => {
    const noTs = expectOk(out[5]);
    expect(noTs['@timestamp']).toBe(receivedAt.toISOString());
    expect(noTs.process).toEqual({ name: 'sshd', pid: 77 });
    expect(noTs.host).toBeUndefined();
    const noPri = expectOk(out[6]);
    expect(noPri.log?.syslog).toMatchObject({ priority: 13, facility: { name: 'user' }, severity: { name: 'notice' } });
    expect(noPri.message).toBe('Use the BFG!');
  });

  it('rejects an out-of-range PRI and empty lines', () => {
    expect(out[8]).toMatchObject({ ok: false, reason: expect.stringContaining('out of range') });
    expect(parseLine('', ctx)).toMatchObject({ ok: false, reason: 'empty line' });
    expect(parseLine('<12', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('PRI') });
  });
});
