import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnectRaw, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SyslogConfig } from '@soc/config';
import { parseLine } from '@soc/parsers';
import { makeTestPki, opensslAvailable, type TestPki } from '@soc/testkit/pki';
import { SyslogFramer } from './framing.ts';
import { kernelUdpDrops, udpDropsFromProc } from './syslog-metrics.ts';
import { startSyslogServer, type SyslogServer } from './syslog.ts';
import { RecordingIngest, silentLogger, until } from './testing.ts';

const M5424 = '<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 [x@1 a="b"] hello 5424';
const M3164 = '<34>Oct 11 22:14:15 mymachine su: hello 3164';
const TlsConfigWithPort = SyslogConfig.shape.tls.unwrap();
const rmemMax = (): number | undefined => (existsSync('/proc/sys/net/core/rmem_max') ? Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) : undefined);

let server: SyslogServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

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

const hasOpenssl = opensslAvailable();
if (!hasOpenssl && process.env.CI === 'true') throw new Error('openssl is required in CI (Debian package openssl)');
if (!hasOpenssl) console.warn('skipping syslog TLS tests: the openssl command is not installed');

const metricValue = async (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
};

describe('syslog TCP limits', () => {

  it('closes an idle connection, keeps what it sent, and counts it', async () => {
    const ingest = new RecordingIngest();
    const registry = new Registry();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tcpPort: 0, maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5, idleTimeoutMs: 300, registry });
    const sock = connect(server.tcpPort!, '127.0.0.1');
    const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    const t0 = Date.now();
    sock.write(`${M3164}\n<13>partial without newline`);
    const at = await closed;
    expect(at - t0).toBeGreaterThanOrEqual(250);
    await until(() => ingest.lines.length === 2);
    expect(ingest.lines.map((l) => l.raw)).toEqual([M3164, '<13>partial without newline']);
    expect(await metricValue(registry, 'soc_syslog_connections_closed_total', { transport: 'tcp', reason: 'idle' })).toBe(1);
    expect(await metricValue(registry, 'soc_syslog_connections', { transport: 'tcp' })).toBe(0);
  });

  it('reads what a sender writes just after the idle close, before it has seen the close', async () => {
    const ingest = new RecordingIngest();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tcpPort: 0, maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5, idleTimeoutMs: 200 });
    // A sender that does not close on our FIN: rsyslog writes its next message first.
    const sock = connect({ port: server.tcpPort!, host: '127.0.0.1', allowHalfOpen: true });
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    await new Promise((r) => sock.once('end', r));
    const closed = new Promise((r) => sock.once('close', r));
    sock.end('<13>written after the idle close\n');
    await closed;
    await until(() => ingest.lines.length === 1);
    expect(ingest.lines.map((l) => l.raw)).toEqual(['<13>written after the idle close']);
  });

  it('refuses connections over the cap, counts them, and serves the others', async () => {
    const ingest = new RecordingIngest();
    const registry = new Registry();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tcpPort: 0, maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5, maxConnections: 2, registry });
    const open = async () => {
      const s = connect(server!.tcpPort!, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      return s;
    };
    const a = await open();
    const b = await open();
    await new Promise((r) => setTimeout(r, 50));
    const c = await open();
    await new Promise((r) => c.once('close', r));
    expect(await metricValue(registry, 'soc_syslog_connections_closed_total', { transport: 'tcp', reason: 'limit' })).toBe(1);
    a.end('<13>from a\n');
    b.end('<13>from b\n');
    await until(() => ingest.lines.length === 2);
    expect(ingest.lines.map((l) => l.raw).sort()).toEqual(['<13>from a', '<13>from b']);
  });
});

describe('syslog UDP keeps up', () => {

  it('reports the receive buffer the kernel set, and writes a burst in batches', async () => {
    const ingest = new RecordingIngest();
    const registry = new Registry();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', udpPort: 0, maxMessageBytes: 1000, logger: silentLogger, batchSize: 200, lingerMs: 20, recvBufferSize: 1024 * 1024, registry });
    // Linux grants min(asked, rmem_max) and reports twice that.
    expect(server.udpRecvBufferSize).toBeGreaterThanOrEqual(Math.min(1024 * 1024, rmemMax() ?? 0));
    expect(await metricValue(registry, 'soc_syslog_udp_receive_buffer_bytes')).toBe(server.udpRecvBufferSize);
    const client = createSocket('udp4');
    const n = 2000;
    for (let i = 0; i < n; i++) client.send(`<13>Oct 11 22:14:15 host app: burst ${i}`, server.udpPort!, '127.0.0.1');
    await until(() => ingest.lines.length === n, 10_000);
    client.close();
    expect(new Set(ingest.lines.map((l) => l.raw)).size).toBe(n);
    // Batched: far fewer bus writes than datagrams.
    expect(ingest.calls.length).toBeLessThanOrEqual(n / 20);
    expect(await metricValue(registry, 'soc_syslog_messages_received_total', { transport: 'udp' })).toBe(n);
    expect(await metricValue(registry, 'soc_syslog_udp_kernel_drops')).toBe(0);
  });

  it('datagrams beyond the queue limit are dropped and counted, the rest delivered', async () => {
    const ingest = new RecordingIngest();
    ingest.delayMs = 300;
    const registry = new Registry();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', udpPort: 0, maxMessageBytes: 1000, logger: silentLogger, batchSize: 10, lingerMs: 5, udpMaxQueuedBytes: 2000, registry });
    const client = createSocket('udp4');
    const msg = `<13>${'q'.repeat(96)}`; // 100 bytes: 20 fit in the queue
    for (let i = 0; i < 200; i++) client.send(msg, server.udpPort!, '127.0.0.1');
    await until(async () => (await metricValue(registry, 'soc_syslog_messages_received_total', { transport: 'udp' })) === 200, 10_000);
    client.close();
    const dropped = (await metricValue(registry, 'soc_syslog_messages_dropped_total', { transport: 'udp', reason: 'queue_full' })) ?? 0;
    expect(dropped).toBeGreaterThan(0);
    await until(() => ingest.lines.length === 200 - dropped, 10_000);
  });

  it('reads the kernel drop counter of a UDP socket from /proc/net/udp', async () => {
    const sample = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  123: 0100007F:15BA 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17',
      '  124: 00000000:0035 00000000:0000 07 00000000 00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 3',
    ].join('\n');
    expect(udpDropsFromProc(sample, 5562)).toBe(17);
    expect(udpDropsFromProc(sample, 53)).toBe(3);
    expect(udpDropsFromProc(sample, 9999)).toBeUndefined();
    if (!existsSync('/proc/net/udp')) return console.warn('skipping the live /proc/net/udp check: not Linux');
    // A real socket that does not read (its process is blocked) with the smallest buffer: the kernel drops.
    const child = spawn(process.execPath, ['-e', `const s=require('dgram').createSocket({type:'udp4',recvBufferSize:1});s.bind(0,'127.0.0.1',()=>{console.log(s.address().port);Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,3000);process.exit(0)})`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
    const client = createSocket('udp4');
    await Promise.all(Array.from({ length: 500 }, () => new Promise((r) => client.send('x'.repeat(200), port, '127.0.0.1', r))));
    client.close();
    expect(kernelUdpDrops(port)).toBeGreaterThan(0);
    child.kill();
  });
});

describe.skipIf(!hasOpenssl)('syslog over TLS (RFC 5425)', () => {
  let dir: string;
  let pki: TestPki;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // tls.connect passes allowHalfOpen to its socket; @types/node leaves it out of ConnectionOptions.
  const tlsConnect = (port: number, o: ConnectionOptions & { allowHalfOpen?: boolean } = {}) =>
    new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnectRaw({ host: '127.0.0.1', port, ca: [readFileSync(pki.caCert)], ...o }, () => resolve(s));
      s.once('error', reject);
    });

  it('octet-counted frames; a client certificate names the sensor (observer.name); no certificate, no handshake', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-syslog-tls-'));
    pki = makeTestPki(dir);
    const srv = pki.issue('server', { server: true });
    const fw = pki.issue('fw01', { cn: 'fw01.example.org' });
    const ingest = new RecordingIngest();
    const registry = new Registry();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tls: TlsConfigWithPort.parse({ port: 0, certFile: srv.cert, keyFile: srv.key, clientCaFile: pki.caCert, clientCert: 'required' }), maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5, registry });
    const s = await tlsConnect(server.tlsPort!, { cert: readFileSync(fw.cert), key: readFileSync(fw.key) });
    s.end(`${Buffer.byteLength(M5424)} ${M5424}${Buffer.byteLength(M3164)} ${M3164}`);
    await until(() => ingest.lines.length === 2);
    expect(ingest.lines.map((l) => l.raw)).toEqual([M5424, M3164]);
    expect(ingest.calls[0]!.ctx).toMatchObject({ source: 'syslog:tls', observer: { ip: '127.0.0.1', name: 'fw01.example.org' } });
    expect(parseLine(ingest.lines[0]!.raw, { format: 'syslog', source: 'syslog:tls', observer: ingest.calls[0]!.ctx.observer })).toMatchObject({ ok: true, event: { observer: { name: 'fw01.example.org' } } });
    // TLS 1.3 reports a refused client certificate after the handshake: either way the socket fails.
    const refused = await tlsConnect(server.tlsPort!).then(
      (x) => new Promise<string>((r) => { x.on('error', (e) => r(e.message)); x.on('close', () => r('closed')); x.write('<13>no cert\n'); }),
      (e: Error) => e.message,
    );
    expect(refused).toBeTruthy();
    await until(async () => (await metricValue(registry, 'soc_syslog_connections_closed_total', { transport: 'tls', reason: 'tls_handshake' })) === 1);
    expect(ingest.lines.map((l) => l.raw)).not.toContain('<13>no cert');
  });

  it('reads what a sender writes just after the idle close of a TLS connection', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-syslog-tls-'));
    pki = makeTestPki(dir);
    const srv = pki.issue('server', { server: true });
    const ingest = new RecordingIngest();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tls: TlsConfigWithPort.parse({ port: 0, certFile: srv.cert, keyFile: srv.key }), maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5, idleTimeoutMs: 200 });
    const s = await tlsConnect(server.tlsPort!, { allowHalfOpen: true });
    await new Promise((r) => s.once('end', r));
    const closed = new Promise((r) => s.once('close', r));
    const m = '<13>1 2026-11-01T10:00:00.000Z fw01 app - - - written after the idle close';
    s.end(`${Buffer.byteLength(m)} ${m}`);
    await closed;
    await until(() => ingest.lines.length === 1);
    expect(ingest.lines.map((l) => l.raw)).toEqual([m]);
  });

  it('reloads certificate files without dropping open connections', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-syslog-tls-'));
    pki = makeTestPki(dir);
    const first = pki.issue('server', { server: true, cn: 'first' });
    const certFile = join(dir, 'live.crt');
    const keyFile = join(dir, 'live.key');
    copyFileSync(first.cert, certFile);
    copyFileSync(first.key, keyFile);
    const ingest = new RecordingIngest();
    server = await startSyslogServer({ ingest, host: '127.0.0.1', tls: TlsConfigWithPort.parse({ port: 0, certFile, keyFile }), maxMessageBytes: 1000, logger: silentLogger, lingerMs: 5 });
    const old = await tlsConnect(server.tlsPort!);
    expect(old.getPeerCertificate().subject.CN).toBe('first');
    old.write('<13>before reload\n');
    const second = pki.issue('server2', { server: true, cn: 'second' });
    copyFileSync(second.cert, certFile);
    copyFileSync(second.key, keyFile);
    server.reloadTls();
    const fresh = await tlsConnect(server.tlsPort!);
    expect(fresh.getPeerCertificate().subject.CN).toBe('second');
    fresh.end('<13>new connection\n');
    old.end('<13>old connection still open\n');
    await until(() => ingest.lines.length === 3);
    expect(ingest.lines.map((l) => l.raw).sort()).toEqual(['<13>before reload', '<13>new connection', '<13>old connection still open']);
  });
});
