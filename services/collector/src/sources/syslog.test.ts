import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLine } from '@soc/parsers';
import { SyslogFramer } from './framing.ts';
import { startSyslogServer, type SyslogServer } from './syslog.ts';
import { RecordingIngest, silentLogger, until } from './testing.ts';

const M5424 = '<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 [x@1 a="b"] hello 5424';
const M3164 = '<34>Oct 11 22:14:15 mymachine su: hello 3164';

describe('SyslogFramer', () => {
  it('octet counting, LF and NUL framing, split anywhere', () => {
    const wire = Buffer.from(`${Buffer.byteLength(M5424)} ${M5424}${M3164}\n${M3164}\0${M3164}\r\n`);
    for (let cut = 1; cut < wire.length; cut += 7) {
      const f = new SyslogFramer(1024);
      const frames = [...f.push(wire.subarray(0, cut)), ...f.push(wire.subarray(cut)), ...f.end()];
      expect(frames.map((x) => x.raw)).toEqual([M5424, M3164, M3164, M3164]);
    }
  });

  it('oversize messages become rejections and framing recovers', () => {
    const f = new SyslogFramer(10);
    const frames = [...f.push(Buffer.from('15 <1>123456789012')), ...f.push(Buffer.from('<1>x\n<1>123456789012345')), ...f.push(Buffer.from('6789\n<1>ok\n'))];
    expect(frames).toEqual([
      { raw: '<1>1234567', rejectReason: 'message exceeds 10 bytes (15 bytes)' },
      { raw: '<1>x' },
      { raw: '<1>1234567', rejectReason: 'message exceeds 10 bytes (more than 10 bytes)' },
      { raw: '<1>ok' },
    ]);
  });

  it('a cut-off octet frame at the end is reported, a last unterminated line is kept', () => {
    const f = new SyslogFramer(100);
    expect([...f.push(Buffer.from('20 <1>abc')), ...f.end()]).toEqual([{ raw: '20 <1>abc', rejectReason: 'connection closed inside an octet-counted frame' }]);
    const g = new SyslogFramer(100);
    expect([...g.push(Buffer.from('<1>last')), ...g.end()]).toEqual([{ raw: '<1>last' }]);
  });
});

describe('syslog server on 127.0.0.1', () => {
  let server: SyslogServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('UDP: each datagram is a message, sender is the observer, oversize rejected', async () => {
    const ingest = new RecordingIngest();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', udpPort: 0, maxMessageBytes: 200, logger: silentLogger, lingerMs: 20 });
    const client = createSocket('udp4');
    const send = (m: string) => new Promise<void>((r, j) => client.send(m, server!.udpPort!, '127.0.0.1', (e) => (e ? j(e) : r())));
    await send(M5424);
    await send(`${M3164}\n`);
    await send(`<13>${'x'.repeat(300)}`);
    await until(() => ingest.lines.length === 3);
    client.close();
    const lines = ingest.lines;
    expect(lines.map((l) => l.raw).slice(0, 2)).toEqual([M5424, M3164]);
    expect(lines[2]).toMatchObject({ rejectReason: 'message exceeds 200 bytes (304 bytes)' });
    expect(lines[2]!.raw).toHaveLength(200);
    for (const l of lines) expect(l.ctx).toMatchObject({ source: 'syslog:udp', format: 'syslog', observer: { ip: '127.0.0.1' } });
    expect(parseLine(lines[0]!.raw, { format: 'syslog', source: 'x' })).toMatchObject({ ok: true });
  });

  it('TCP: both framings in one connection, in order, with backpressure from a slow ingest', async () => {
    const ingest = new RecordingIngest();
    ingest.delayMs = 30;
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tcpPort: 0, maxMessageBytes: 1000, logger: silentLogger, batchSize: 50, lingerMs: 10 });
    const sock = connect(server.tcpPort!, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const expected: string[] = [];
    let wire = '';
    for (let i = 0; i < 600; i++) {
      const m = i % 2 ? `<34>Oct 11 22:14:15 host app[${i}]: msg ${i}` : `<165>1 2003-10-11T22:14:15.003Z host app ${i} - - msg ${i}`;
      expected.push(m);
      wire += i % 3 === 0 ? `${Buffer.byteLength(m)} ${m}` : `${m}${i % 3 === 1 ? '\n' : '\0'}`;
    }
    wire += `<13>${'y'.repeat(2000)}\n<13>after\n`;
    expected.push('<13>after');
    sock.end(wire);
    await until(() => ingest.lines.length === 602);
    const lines = ingest.lines;
    const accepted = lines.filter((l) => !l.rejectReason);
    expect(accepted.map((l) => l.raw)).toEqual(expected);
    expect(lines.filter((l) => l.rejectReason).map((l) => l.rejectReason)).toEqual([expect.stringMatching(/^message exceeds 1000 bytes/)]);
    expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 602 }, (_, i) => i + 1));
    expect(ingest.calls.every((c) => c.lines.length <= 50)).toBe(true);
    expect(ingest.calls[0]!.ctx).toMatchObject({ source: 'syslog:tcp', observer: { ip: '127.0.0.1' } });
  });

  it('TCP: a bus outage is retried, nothing lost while the connection stays up', async () => {
    const ingest = new RecordingIngest();
    ingest.failNext = 2;
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tcpPort: 0, maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5 });
    const sock = connect(server.tcpPort!, '127.0.0.1');
    sock.end(`${M3164}\n${M5424}\n`);
    await until(() => ingest.lines.length === 2);
    expect(ingest.lines.map((l) => l.raw)).toEqual([M3164, M5424]);
  });
});
