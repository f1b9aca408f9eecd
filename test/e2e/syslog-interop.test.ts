import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { EcsEvent, TOPICS } from '@soc/schema';
import { freePort } from '@soc/testkit';
import { makeTestPki, opensslAvailable, type TestPki } from '@soc/testkit/pki';
import { startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';
import { rsyslogd, runDaemon, syslogNg, tail, type Daemon, type Tool } from '../helpers/syslog-senders.ts';

/**
 * rsyslog and syslog-ng as real senders against `soc start`: RFC 5424 and 3164 over UDP, TCP and
 * TLS (client certificates required), structured data, multi-line and non-ASCII messages, and a
 * reconnect forced by the collector's idle timeout. Every message sent is found once on the
 * bus, as an event or as a dead letter with its reason. SIGHUP swaps the certificates under open
 * connections. Then curl with a client certificate against the HTTPS collector.
 */

const CI = process.env.CI === 'true';
const tools = { rsyslog: rsyslogd(), 'syslog-ng': syslogNg() };
const hasOpenssl = opensslAvailable();
for (const [name, t] of Object.entries(tools)) {
  if ('missing' in t) {
    if (CI) throw new Error(`CI: ${t.missing}`);
    console.warn(`skipping ${name} interoperability: ${t.missing}`);
  }
}
if (!hasOpenssl) {
  if (CI) throw new Error('CI: openssl is required (Debian package openssl)');
  console.warn('skipping syslog interoperability: the openssl command is not installed');
}
const curlPresent = await promisify(execFile)('curl', ['--version']).then(() => true, () => false);
if (!curlPresent) {
  if (CI) throw new Error('CI: curl is required (Debian package curl)');
  console.warn('skipping the curl client-certificate test: curl is not installed');
}

type Path = 'udp5424' | 'udp3164' | 'tcp5424' | 'tcp3164' | 'tls5424' | 'tls3164';
const PATHS: Path[] = ['udp5424', 'udp3164', 'tcp5424', 'tcp3164', 'tls5424', 'tls3164'];
const IDLE_SECONDS = 2;

/** The messages a local application hands each sender (RFC 5424, octet-counted, to its input). */
function messages(sender: string, path: Path, multiline: boolean, phase: 'before' | 'after' | 'restart'): { id: string; frame: string }[] {
  const id = (n: number) => `${sender}-${path}-${n}`;
  const ts = '2026-11-01T10:00:00.000Z';
  const list =
    phase === 'after'
      ? [{ n: 5, m: `<134>1 ${ts} fw01 sshd 4242 ID47 - id=${id(5)} after the idle close` }]
      : phase === 'restart'
        ? [{ n: 6, m: `<134>1 ${ts} fw01 sshd 4242 ID47 - id=${id(6)} after the sender restarted` }]
        : [
          { n: 1, m: `<38>1 ${ts} fw01 sshd 4242 ID47 [origin@32473 ip="198.51.100.9" sw="OpenSSH"] id=${id(1)} Failed password for root from 198.51.100.9` },
          { n: 2, m: `<13>1 ${ts} größe-fw.example app - - - id=${id(2)} Ünïcödé ✓ пароль 密码` },
          { n: 3, m: `<13>1 ${ts} web01 nginx 77 - - id=${id(3)} plain message` },
          ...(multiline ? [{ n: 4, m: `<11>1 ${ts} web01 java 99 - - id=${id(4)} Exception in thread "main"\n\tat Main.run(Main.java:42)` }] : []),
        ];
  return list.map(({ n, m }) => ({ id: id(n), frame: `${Buffer.byteLength(m)} ${m}` }));
}

describe.skipIf(!hasOpenssl)('real syslog senders and curl against soc start', () => {
  let dir: string;
  let pki: TestPki;
  let soc: SocProcess;
  let bus: Bus;
  let ports: { udpPort: number; tcpPort: number; tlsPort: number };
  let server: { cert: string; key: string };

  const read = async (topic: string) => {
    const out: string[] = [];
    for (let p = 0; p < 4; p++) for (const r of await bus.read(topic, { partition: p, fromOffset: 0, limit: 100_000 })) out.push(r.value);
    return out;
  };
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await curl(['-s', '--cacert', pki.caCert, '-H', `authorization: Bearer ${soc.analystToken}`, `${soc.url}/metrics`]);
    const line = text.stdout.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((x) => l.includes(x)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const curl = (args: string[]) => promisify(execFile)('curl', args, { maxBuffer: 16 * 1024 * 1024 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-interop-'));
    pki = makeTestPki(join(dir, 'pki'));
    server = pki.issue('collector', { server: true });
    const tls = { certFile: server.cert, keyFile: server.key, clientCaFile: pki.caCert };
    const config = join(dir, 'soc.json');
    writeFileSync(
      config,
      JSON.stringify({
        api: { tls: { ...tls, clientCert: 'optional' } },
        collector: { syslog: { enabled: true, udpPort: 0, tcpPort: 0, idleTimeoutSeconds: IDLE_SECONDS, tls: { ...tls, clientCert: 'required', port: 0 } } },
        detector: { anomaly: false },
      }),
    );
    soc = await startSoc({ dataDir: join(dir, 'data'), args: ['--config', config], env: { NODE_EXTRA_CA_CERTS: pki.caCert } });
    ports = soc.ready.syslog as typeof ports;
    bus = openEmbeddedBus({ path: join(dir, 'data', 'bus.db') });
  });
  afterAll(async () => {
    await bus?.close();
    if (soc) expect(await soc.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes frames to the sender's input port for `path`, then closes. */
  const feed = (port: number, frames: string[]) =>
    new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.end(frames.join('')));
      s.on('error', reject);
      s.on('close', () => resolve());
    });

  /** Every id sent is once in the events or the dead letters (with a reason); events checked by `check`. */
  const accountFor = async (ids: string[], what: string) => {
    const idOf = (text: string) => /id=([\w-]+-\d)/.exec(text)?.[1];
    let missing: string[] = [];
    return waitFor(
      async () => {
        const events = (await read(TOPICS.events)).map((v) => EcsEvent.parse(JSON.parse(v)));
        const dead = (await read(TOPICS.deadLetter)).map((v) => JSON.parse(v) as { reason: string; raw: string });
        const byId = new Map<string, EcsEvent[]>();
        for (const e of events) {
          const id = idOf(e.message ?? '');
          if (id) byId.set(id, [...(byId.get(id) ?? []), e]);
        }
        const deadById = new Map(dead.map((d) => [idOf(d.raw), d] as const));
        missing = ids.filter((i) => !byId.has(i) && !deadById.has(i));
        if (missing.length) return undefined;
        return { byId: (i: string) => byId.get(i) ?? [], dead: (i: string) => deadById.get(i) };
      },
      what,
      20_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; missing: ${missing.join(', ')}`);
    });
  };

  const runSender = async (name: 'rsyslog' | 'syslog-ng', tool: Tool, config: (inputs: Record<Path, number>, work: string) => { args: string[]; multiline: Record<Path, boolean>; idleCloseUnnoticed: Path[] }) => {
    const work = join(dir, name);
    const inputs = Object.fromEntries(await Promise.all(PATHS.map(async (p) => [p, await freePort()] as const))) as Record<Path, number>;
    const { args, multiline, idleCloseUnnoticed } = config(inputs, work);
    let daemon: Daemon = runDaemon(tool, args, work);
    const up = () =>
      // The daemon is up when all its inputs accept connections.
      waitFor(async () => (await Promise.all(PATHS.map((p) => feed(inputs[p], []).then(() => true, () => false)))).every(Boolean) || undefined, `${name} listening`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${name} output:\n${tail(daemon)}`);
      });
    /** Hands each path its messages of `phase` and waits until every one is accounted for. */
    const phase = async (which: 'before' | 'after' | 'restart', paths: Path[]) => {
      const sent = paths.flatMap((p) => messages(name, p, multiline[p], which).map((m) => ({ ...m, p })));
      await Promise.all(paths.map((p) => feed(inputs[p], sent.filter((m) => m.p === p).map((m) => m.frame))));
      const found = await accountFor(sent.map((m) => m.id), `${name}: ${sent.length} messages (${which}) accounted for`).catch(async (err: Error) => {
        const m = (await curl(['-s', '--cacert', pki.caCert, '-H', `authorization: Bearer ${soc.analystToken}`, `${soc.url}/metrics`])).stdout.split('\n').filter((l) => l.startsWith('soc_syslog')).join('\n');
        throw new Error(`${err.message}\n${m}\n${name} output:\n${tail(daemon)}`);
      });
      return { sent, found };
    };
    try {
      await up();
      const { sent: before, found: first } = await phase('before', PATHS);

      // What each path delivered, as the collector parsed it.
      for (const m of before) {
        const got = first.byId(m.id);
        expect(got.length, `${m.id} arrives once`).toBe(1);
        const e = got[0]!;
        if (m.p.startsWith('tls')) expect(e.observer?.name, `${m.id} names the sensor by its certificate`).toBe(`${name}-sensor`);
        if (m.p.endsWith('5424')) expect(e.log?.syslog?.version, m.id).toBe('1'); // ECS log.syslog.version is a keyword
        if (m.id.endsWith('-1') && m.p.endsWith('5424')) expect((e.log?.syslog as { structured_data?: unknown })?.structured_data).toEqual({ 'origin@32473': { ip: '198.51.100.9', sw: 'OpenSSH' } });
        if (m.id.endsWith('-2')) expect(e.message).toContain('Ünïcödé ✓ пароль 密码');
        if (m.id.endsWith('-2')) expect(e.host?.hostname).toBe('größe-fw.example');
        if (m.id.endsWith('-4')) expect(e.message).toContain('Exception in thread "main"\n\tat Main.run(Main.java:42)');
      }

      // Forced reconnect: the collector closes the idle TCP and TLS connections; the sender must open new ones.
      const idle = async () => (await metric('soc_syslog_connections_closed_total', 'transport="tcp",reason="idle"')) + (await metric('soc_syslog_connections_closed_total', 'transport="tls",reason="idle"'));
      const idleBefore = await idle();
      await waitFor(async () => (await idle()) >= idleBefore + 4, `${name}: its four TCP/TLS connections closed as idle by the collector`, (IDLE_SECONDS + 8) * 1000, 250);
      await phase('after', PATHS.filter((p) => !idleCloseUnnoticed.includes(p)));

      // Forced reconnect from the sender's side: it is stopped (flushing its queue) and started again.
      await daemon.stop();
      daemon = runDaemon(tool, args, work);
      await up();
      await phase('restart', PATHS);
    } finally {
      await daemon.stop();
    }
  };

  it.skipIf('missing' in tools.rsyslog)('rsyslog: UDP, TCP, TLS; RFC 5424 and 3164', async () => {
    const client = pki.issue('rsyslog-sensor');
    await runSender('rsyslog', tools.rsyslog as Tool, (inputs, work) => {
      const out = (p: Path) => {
        const template = p.endsWith('5424') ? 'RSYSLOG_SyslogProtocol23Format' : 'RSYSLOG_TraditionalForwardFormat';
        if (p.startsWith('udp')) return `action(type="omfwd" target="127.0.0.1" port="${ports.udpPort}" protocol="udp" template="${template}")`;
        const tls = p.startsWith('tls') ? ' StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"' : '';
        // Retrying a failed send forever is how rsyslog is set up to forward reliably.
        return `action(type="omfwd" action.resumeRetryCount="-1" target="${p.startsWith('tls') ? 'localhost' : '127.0.0.1'}" port="${p.startsWith('tls') ? ports.tlsPort : ports.tcpPort}" protocol="tcp" TCP_Framing="octet-counted" template="${template}"${tls})`;
      };
      const conf = [
        `global(workDirectory="${work}" parser.escapeControlCharactersOnReceive="off" DefaultNetstreamDriverCAFile="${pki.caCert}" DefaultNetstreamDriverCertFile="${client.cert}" DefaultNetstreamDriverKeyFile="${client.key}")`,
        'module(load="imtcp")',
        ...PATHS.flatMap((p) => [`input(type="imtcp" address="127.0.0.1" port="${inputs[p]}" ruleset="${p}")`, `ruleset(name="${p}") { ${out(p)} }`]),
      ].join('\n');
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const file = join(work, 'rsyslog.conf');
      writeFileSync(file, conf);
      return { args: ['-n', '-f', file, '-i', join(work, 'rsyslogd.pid')], multiline: Object.fromEntries(PATHS.map((p) => [p, true])) as Record<Path, boolean>, idleCloseUnnoticed: [] };
    });
  });

  it.skipIf('missing' in tools['syslog-ng'])('syslog-ng: UDP, TCP, TLS; RFC 5424 and 3164', async () => {
    const client = pki.issue('syslog-ng-sensor');
    await runSender('syslog-ng', tools['syslog-ng'] as Tool, (inputs, work) => {
      const tls = `tls(ca-file("${pki.caCert}") key-file("${client.key}") cert-file("${client.cert}") peer-verify(required-trusted))`;
      const dest = (p: Path) => {
        const driver = p.endsWith('5424') ? 'syslog' : 'network';
        const transport = p.slice(0, 3);
        const port = transport === 'udp' ? ports.udpPort : transport === 'tcp' ? ports.tcpPort : ports.tlsPort;
        return `${driver}("127.0.0.1" port(${port}) transport("${transport}") persist-name("d_${p}")${transport === 'tls' ? ` ${tls}` : ''})`;
      };
      const conf = [
        '@version: 3.38',
        'options { keep-hostname(yes); chain-hostnames(no); use-dns(no); stats-freq(0); time-reopen(1); };',
        ...PATHS.flatMap((p) => [
          `source s_${p} { syslog(ip("127.0.0.1") port(${inputs[p]}) transport("tcp")); };`,
          `destination d_${p} { ${dest(p)}; };`,
          `log { source(s_${p}); destination(d_${p}); };`,
        ]),
      ].join('\n');
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const file = join(work, 'syslog-ng.conf');
      writeFileSync(file, conf);
      // network() (RFC 3164) frames by newline: a multi-line message cannot cross it intact.
      const multiline = Object.fromEntries(PATHS.map((p) => [p, p.startsWith('udp') || p.endsWith('5424')])) as Record<Path, boolean>;
      // syslog-ng 3.38's TLS destination does not notice a server's close of an idle connection
      // and stops sending on it without an error (syslog-ng/syslog-ng#3450); only TCP is tried there.
      const idleCloseUnnoticed: Path[] = ['tls5424', 'tls3164'];
      return { idleCloseUnnoticed, args: ['-F', '-e', '--no-caps', '-f', file, '-p', join(work, 'syslog-ng.pid'), '-R', join(work, 'syslog-ng.persist'), '-c', join(work, 'syslog-ng.ctl')], multiline };
    });
  });

  it('SIGHUP reloads the certificates of the syslog TLS and HTTPS listeners; open connections stay', async () => {
    const client = pki.issue('reload-sensor');
    const peerCn = (port: number) =>
      new Promise<{ cn: string; socket: TLSSocket }>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: [readFileSync(pki.caCert)], cert: readFileSync(client.cert), key: readFileSync(client.key) }, () => resolve({ cn: String(s.getPeerCertificate().subject.CN), socket: s }));
        s.once('error', reject);
      });
    const frame = (m: string) => `${Buffer.byteLength(m)} ${m}`;
    const old = await peerCn(ports.tlsPort);
    expect(old.cn).toBe('collector');
    old.socket.write(frame('<13>1 2026-11-01T10:00:00.000Z fw03 app - - - id=reload-old-1 before the reload'));
    const renewed = pki.issue('collector-renewed', { server: true });
    copyFileSync(renewed.cert, server.cert);
    copyFileSync(renewed.key, server.key);
    soc.proc.kill('SIGHUP');
    await waitFor(async () => {
      const fresh = await peerCn(ports.tlsPort);
      fresh.socket.destroy();
      return fresh.cn === 'collector-renewed';
    }, 'the syslog TLS listener presenting the renewed certificate');
    const https = await peerCn(Number(new URL(soc.url).port));
    https.socket.destroy();
    expect(https.cn).toBe('collector-renewed');
    // The connection opened before the reload still delivers.
    old.socket.end(frame('<13>1 2026-11-01T10:00:00.000Z fw03 app - - - id=reload-old-2 after the reload'));
    const found = await accountFor(['reload-old-1', 'reload-old-2'], 'messages on the connection opened before SIGHUP');
    expect(found.byId('reload-old-2')[0]?.observer?.name).toBe('reload-sensor');
    expect(soc.proc.exitCode).toBeNull();
  });

  it.skipIf(!curlPresent)('curl with a client certificate pushes to the HTTPS collector as a sensor', async () => {
    const client = pki.issue('curl-sensor');
    const url = `${soc.url}/v1/events?format=syslog`;
    const body = '<13>1 2026-11-01T10:00:00.000Z fw02 sshd - - - id=curl-https-1 pushed over mutual TLS\n';
    const withCert = await curl(['-s', '-w', '\\n%{http_code}', '--cacert', pki.caCert, '--cert', client.cert, '--key', client.key, '--data-binary', body, url]);
    const [answer, status] = withCert.stdout.trim().split('\n');
    expect(status).toBe('202');
    expect(JSON.parse(answer!)).toMatchObject({ accepted: 1, rejected: 0 });
    const without = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', pki.caCert, '--data-binary', body, url]);
    expect(without.stdout).toBe('401');
    // TLS 1.1 is refused at the handshake.
    const old = await curl(['-s', '-o', '/dev/null', '--cacert', pki.caCert, '--tls-max', '1.1', '--tlsv1.0', url]).then(() => 'connected', () => 'refused');
    expect(old).toBe('refused');
    const ev = await accountFor(['curl-https-1'], 'the event pushed by curl');
    expect(ev.byId('curl-https-1')).toHaveLength(1);
  });
});
