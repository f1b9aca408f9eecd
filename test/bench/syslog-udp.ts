import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kernelUdpDrops } from '@soc/svc-collector';
import { freePort } from '@soc/testkit';
import { startSoc, type SocProcess } from '../helpers/soc-process.ts';
import { rsyslogd, runDaemon, type Daemon, type Tool } from '../helpers/syslog-senders.ts';

/**
 * Syslog over UDP, the collector (`soc start`, every service in one process) beside rsyslog's
 * imudp (writing to a file) in the same run, the same sender process for both: the share of a
 * 2,000- and a 20,000-datagram burst taken in, and the paced rate at which loss starts. rsyslog
 * runs twice: with its default receive buffer (what the issue measured) and with the buffer the
 * collector asks for, and (where permitted) also at the priority the collector gives its
 * receive thread. Bounded: about four minutes.
 *
 * The sender runs at nice -10 where allowed (root): on two shared cores a busy receiver otherwise
 * takes the sender's CPU and slows the very burst it is measured with, which flattens the burst.
 */

const RATES = [5_000, 10_000, 20_000, 40_000, 80_000, 160_000];
const RATE_SECONDS = 1;
/** A rate "keeps up" while at most this share is lost. */
const LOSS_TOLERATED = 0.001;
const SENDER_NICE = -10;
const log = (msg: string) => process.stderr.write(`bench syslog-udp: ${msg}\n`);

interface Receiver {
  name: string;
  port: number;
  /** Messages taken in so far (monotonic). */
  count(): Promise<number>;
  stop(): Promise<void>;
}

let senderNice: number | string = SENDER_NICE;
const send = async (port: number, count: number, rate: number) => {
  const child = promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'udp-sender.ts'), String(port), String(count), String(rate)]);
  try {
    setPriority(child.child.pid!, SENDER_NICE);
  } catch (err) {
    senderNice = `0 (${(err as NodeJS.ErrnoException).code ?? 'not allowed'})`;
  }
  return JSON.parse((await child).stdout) as { sent: number; seconds: number };
};

/** Waits until the receiver's count has not moved for `quietMs`; returns the count. */
async function settled(r: Receiver, quietMs = 1000, maxMs = 20_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = await r.count();
  let since = Date.now();
  while (Date.now() < end) {
    await new Promise((res) => setTimeout(res, 100));
    const n = await r.count();
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

async function trial(r: Receiver, count: number, rate: number) {
  const before = await r.count();
  const dropsBefore = kernelUdpDrops(r.port) ?? 0;
  const s = await send(r.port, count, rate);
  const got = (await settled(r)) - before;
  return { sent: s.sent, received: got, share: Number((got / s.sent).toFixed(4)), sendRate: Math.round(s.sent / s.seconds), kernelDrops: (kernelUdpDrops(r.port) ?? 0) - dropsBefore };
}

async function collector(dir: string, recvBufferSize: number): Promise<Receiver & { soc: SocProcess }> {
  const config = join(dir, 'soc.json');
  writeFileSync(config, JSON.stringify({ collector: { syslog: { enabled: true, udpPort: 0, tcpPort: 0, recvBufferSize } } }));
  const soc = await startSoc({ dataDir: join(dir, 'data'), args: ['--config', config] });
  const metric = async (name: string) => {
    const get = () => fetch(`${soc.url}/metrics`, { headers: { authorization: `Bearer ${soc.analystToken}` } });
    // Once more on a reset: a kept-alive connection can be closed by the server as it is reused.
    const res = await get().catch(get).catch((err: Error) => {
      throw new Error(`collector /metrics: ${err.message}; exit ${soc.proc.exitCode}; stderr: ${soc.stderr().slice(-3000)}`);
    });
    const text = await res.text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  };
  return {
    name: 'collector',
    soc,
    port: (soc.ready.syslog as { udpPort: number }).udpPort,
    // Taken in = on the bus, as an event or a dead letter.
    count: async () => (await metric('soc_events_in_total{source="syslog"')) + (await metric('soc_events_rejected_total{source="syslog"')),
    stop: async () => void (await soc.stop()),
  };
}

/** Sets the nice value of every thread of `pid` (Linux nice is per thread). */
function reniceThreads(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), nice);
}

async function rsyslog(tool: Tool, dir: string, rcvbuf?: number, nice?: number): Promise<Receiver & { daemon: Daemon }> {
  const port = await freePort();
  const out = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imudp")',
      `input(type="imudp" address="127.0.0.1" port="${port}" ruleset="r"${rcvbuf ? ` rcvbufSize="${rcvbuf}"` : ''})`,
      `ruleset(name="r") { action(type="omfile" file="${out}") }`,
    ].join('\n'),
  );
  const daemon = runDaemon(tool, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], dir);
  const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
  // Up when a probe datagram lands in the file.
  const deadline = Date.now() + 15_000;
  while (lines() === 0) {
    if (Date.now() > deadline) throw new Error(`rsyslog did not start: ${daemon.output()}`);
    await send(port, 1, 0);
    await new Promise((r) => setTimeout(r, 200));
  }

  if (nice !== undefined) reniceThreads(daemon.proc.pid!, nice);
  const name = rcvbuf ? `rsyslog imudp (rcvbufSize ${rcvbuf}${nice !== undefined ? `, nice ${nice}` : ''})` : 'rsyslog imudp (default buffer)';
  return { name, daemon, port, count: async () => lines(), stop: () => daemon.stop() };
}

export async function benchSyslogUdp(): Promise<unknown> {
  const tool = rsyslogd();
  if ('missing' in tool) return { skipped: tool.missing };
  const dir = mkdtempSync(join(tmpdir(), 'soc-bench-udp-'));
  const recvBufferSize = 8 * 1024 * 1024;
  const receivers: Receiver[] = [];
  try {
    const c = await collector(mkdir(join(dir, 'collector')), recvBufferSize);
    const nice = (c.soc.ready.syslog as { udpReceiverNice?: number }).udpReceiverNice;
    receivers.push(c, await rsyslog(tool, mkdir(join(dir, 'rsyslog-default'))), await rsyslog(tool, mkdir(join(dir, 'rsyslog-buffer')), recvBufferSize));
    // rsyslog also with the collector's receive-thread priority, every thread of it (when allowed).
    if (nice !== undefined && nice < 0 && existsSync('/proc/self/task')) receivers.push(await rsyslog(tool, mkdir(join(dir, 'rsyslog-nice')), recvBufferSize, nice));
    const grantedBuffer = (c.soc.ready.syslog as { udpRecvBufferSize?: number }).udpRecvBufferSize;
    const results: Record<string, unknown> = {};
    for (const r of receivers) {
      log(`${r.name}: bursts`);
      const bursts = { burst2000: await trial(r, 2_000, 0), burst20000: await trial(r, 20_000, 0) };
      const rates: Record<string, unknown>[] = [];
      // Rates are what the sender achieved; it shares two cores with the receiver, so past some
      // rate it cannot go faster and the search stops there ("sender limit").
      let keepsUpTo = 0;
      let lossStartsAt: number | string = 'not reached';
      for (const rate of RATES) {
        log(`${r.name}: ${rate}/s`);
        const t = await trial(r, rate * RATE_SECONDS, rate);
        rates.push({ rate, ...t });
        if (1 - t.share > LOSS_TOLERATED) {
          lossStartsAt = t.sendRate;
          break;
        }
        keepsUpTo = Math.max(keepsUpTo, t.sendRate);
        if (t.sendRate < rate * 0.8) {
          lossStartsAt = `not reached (sender limit ${t.sendRate}/s)`;
          break;
        }
      }
      results[r.name] = { ...bursts, sustained: { keepsUpTo, lossStartsAt, rates } };
    }
    const share = (name: string, burst: string) => (results[name] as Record<string, { share: number }>)[burst]!.share;
    const ratios = Object.fromEntries(
      receivers.slice(1).map((r) => [r.name, Object.fromEntries(['burst2000', 'burst20000'].map((b) => [b, Number((share('collector', b) / share(r.name, b)).toFixed(3))]))]),
    );
    return {
      recvBufferAsked: recvBufferSize,
      recvBufferGranted: grantedBuffer,
      collectorReceiverNice: nice,
      rmemMax: existsSync('/proc/sys/net/core/rmem_max') ? Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) : undefined,
      lossToleratedPerRate: LOSS_TOLERATED,
      senderNice,
      loadAverage: loadavg().map((x) => Number(x.toFixed(1))),
      ...results,
      collectorShareRatioTo: ratios,
    };
  } finally {
    for (const r of receivers) await r.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function mkdir(d: string): string {
  mkdirSync(d, { recursive: true });
  return d;
}
