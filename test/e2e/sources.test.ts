import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { EcsEvent, TOPICS, flowState } from '@soc/schema';
import { startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';

/** Syslog over real UDP/TCP sockets and a tailed Zeek file, through `soc start`, onto the bus. */
describe('collector sources in soc start', () => {
  let dir: string;
  let soc: SocProcess;
  let bus: Bus;
  let zeekFile: string;

  const events = async (): Promise<EcsEvent[]> => {
    const out: EcsEvent[] = [];
    for (let p = 0; p < 4; p++) for (const r of await bus.read(TOPICS.events, { partition: p, fromOffset: 0, limit: 10_000 })) out.push(EcsEvent.parse(JSON.parse(r.value)));
    return out;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-sources-'));
    zeekFile = join(dir, 'conn.log');
    writeFileSync(zeekFile, '');
    const config = join(dir, 'soc.json');
    writeFileSync(config, JSON.stringify({ collector: { syslog: { enabled: true, udpPort: 0, tcpPort: 0 }, tail: [{ path: zeekFile, format: 'zeek' }] } }));
    soc = await startSoc({ dataDir: join(dir, 'data'), args: ['--config', config] });
    bus = openEmbeddedBus({ path: join(dir, 'data', 'bus.db') });
  });
  afterAll(async () => {
    await bus?.close();
    expect(await soc?.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('receives RFC 5424 over UDP and RFC 3164 over TCP with both framings', async () => {
    const ports = soc.ready.syslog as { udpPort: number; tcpPort: number };
    const udp = createSocket('udp4');
    await new Promise<void>((res, rej) => udp.send('<34>1 2026-11-01T10:00:00.000Z fw01 sshd 4242 ID47 - Failed password for root from 198.51.100.9', ports.udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())));
    udp.close();
    const tcp = connect(ports.tcpPort, '127.0.0.1');
    await new Promise((res) => tcp.once('connect', res));
    const framed = '<13>Nov  1 10:00:01 web01 nginx[77]: octet counted message';
    tcp.write(`${Buffer.byteLength(framed)} ${framed}`);
    tcp.write('<13>Nov  1 10:00:02 web01 nginx[77]: newline framed message\n');
    await new Promise<void>((res) => tcp.end(res));

    const found = await waitFor(async () => {
      const ev = (await events()).filter((e) => e.event.dataset === 'syslog');
      return ev.length >= 3 ? ev : undefined;
    }, 'three syslog events on the bus');
    const messages = found.map((e) => e.message);
    expect(messages).toContain('Failed password for root from 198.51.100.9');
    expect(messages).toContain('octet counted message');
    expect(messages).toContain('newline framed message');
    for (const e of found) expect(e.observer?.ip).toMatch(/127\.0\.0\.1/);
  });

  it('tails a Zeek TSV log written after start-up', async () => {
    appendFileSync(zeekFile, ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state', '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring', ''].join('\n'));
    appendFileSync(zeekFile, '1761991200.000000\tCabc1\t10.0.0.1\t5555\t10.0.0.2\t80\ttcp\thttp\t0.5\t100\t2000\tSF\n');
    appendFileSync(zeekFile, '1761991201.000000\tCabc2\t10.0.0.1\t5556\t10.0.0.2\t443\ttcp\t-\t-\t-\t-\tS0\n');
    const conns = await waitFor(async () => {
      const ev = (await events()).filter((e) => e.event.dataset === 'zeek.conn');
      return ev.length >= 2 ? ev : undefined;
    }, 'two tailed conn events');
    expect(conns.map((e) => flowState(e)).sort()).toEqual(['S0', 'SF']);
    expect(conns.find((e) => flowState(e) === 'SF')).toMatchObject({ source: { ip: '10.0.0.1', port: 5555 }, destination: { ip: '10.0.0.2', port: 80 }, network: { transport: 'tcp', protocol: 'http' }, zeek: { connection: { orig_bytes: 100, resp_bytes: 2000 } } });
  });
});
