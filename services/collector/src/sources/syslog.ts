import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { TlsConfig } from '@soc/config';
import { retry } from '@soc/errors';
import { reloadTls, tlsServerOptions, verifiedPeer } from '@soc/http';
import type { Logger } from '@soc/telemetry';
import { Registry } from 'prom-client';
import { Batcher } from './batcher.ts';
import { SyslogFramer } from './framing.ts';
import { SyslogMetrics, type Transport } from './syslog-metrics.ts';
import type { Ingest, IngestContext, RawLine } from './types.ts';

/**
 * Syslog receiver: UDP (RFC 5426, one datagram = one message), TCP (RFC 6587, both framings)
 * and TLS (RFC 5425, octet counting; newline framing is accepted too, as rsyslog sends it by
 * default).
 *
 * Delivery: UDP is best-effort (the protocol has no acknowledgement; a datagram lost on the wire
 * or in a full socket buffer is gone — counted in `soc_syslog_udp_kernel_drops` — and a batch the
 * bus refuses after retries is dropped and counted). TCP and TLS are at-least-once only up to our
 * socket: the connection is paused while a batch is submitted, so a slow bus slows the sender
 * instead of filling memory, but syslog has no application acknowledgement — messages the sender
 * wrote before a crash or before we close the connection on a bus failure may be lost, and the
 * sender cannot know.
 */

export interface SyslogServerOptions {
  ingest: Ingest;
  host: string;
  /** Start UDP on this port (0 = any free port); omitted = no UDP listener. */
  udpPort?: number;
  /** Start TCP on this port (0 = any free port); omitted = no TCP listener. */
  tcpPort?: number;
  /** Start syslog over TLS with these files on `tls.port`; omitted = no TLS listener. */
  tls?: TlsConfig & { port: number };
  maxMessageBytes: number;
  logger: Logger;
  /** Where the syslog metrics go; a private registry when omitted (tests). */
  registry?: Registry;
  batchSize?: number;
  lingerMs?: number;
  /** Submit attempts before a batch is given up (UDP) or the connection closed (TCP). */
  submitAttempts?: number;
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max). */
  recvBufferSize?: number;
  /** UDP bytes received and not yet on the bus, at most; more datagrams are dropped and counted. */
  udpMaxQueuedBytes?: number;
  /** Nice value of the UDP receiver thread (negative = ahead of the rest; needs CAP_SYS_NICE). */
  udpReceiverNice?: number;
  /** Open connections per TCP/TLS listener. */
  maxConnections?: number;
  idleTimeoutMs?: number;
}

export interface SyslogServer {
  udpPort?: number;
  tcpPort?: number;
  tlsPort?: number;
  /** SO_RCVBUF of the UDP socket as the kernel set it. */
  udpRecvBufferSize?: number;
  /** Nice value the UDP receiver thread runs at. */
  udpReceiverNice?: number;
  /** Re-reads the TLS certificate, key and client CA; open connections are kept. */
  reloadTls(): void;
  close(): Promise<void>;
}

/** How long a connection closed as idle may still deliver what its sender wrote before it saw the close. */
const IDLE_CLOSE_GRACE_MS = 10_000;

/** `::ffff:10.0.0.1` → `10.0.0.1`: the sender's address as people write it. */
const plainAddress = (a: string | undefined): string | undefined => (a?.startsWith('::ffff:') ? a.slice(7) : a);

interface UdpBatch {
  type: 'batch';
  raws: string[];
  ips: string[];
  sizes: number[];
  bytes: number;
  dropped: number;
}
type FromReceiver = UdpBatch | { type: 'ready'; port: number; recvBufferSize: number; priority?: number } | { type: 'error'; message: string; code?: string } | { type: 'closed' };

async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as { port: number }).port;
}

export async function startSyslogServer(opts: SyslogServerOptions): Promise<SyslogServer> {
  const batchSize = opts.batchSize ?? 500;
  const lingerMs = opts.lingerMs ?? 50;
  const attempts = opts.submitAttempts ?? 5;
  const log = opts.logger;
  const metrics = new SyslogMetrics(opts.registry ?? new Registry());

  const submit = (lines: RawLine[], ctx: IngestContext) =>
    retry(() => opts.ingest.submit(lines, ctx), {
      retries: attempts,
      onRetry: (err, attempt, delayMs) => log.warn({ err, attempt, delayMs, source: ctx.source }, 'syslog batch not accepted, retrying'),
    });

  // UDP: the socket lives on a receiver thread; its batches are submitted here, one at a time
  // in arrival order, grouped by sender since the observer is part of the submit context.
  let receiver: Worker | undefined;
  let udp: { port: number; recvBufferSize: number; priority?: number } | undefined;
  let udpChain: Promise<void> = Promise.resolve();
  const onUdpBatch = (b: UdpBatch) => {
    if (b.dropped) metrics.dropped.inc({ transport: 'udp', reason: 'queue_full' }, b.dropped);
    metrics.received.inc({ transport: 'udp' }, b.raws.length + b.dropped);
    const bySender = new Map<string, RawLine[]>();
    b.raws.forEach((raw, i) => {
      const size = b.sizes[i]!;
      const line: RawLine = size ? { raw, rejectReason: `message exceeds ${opts.maxMessageBytes} bytes (${size} bytes)` } : { raw };
      const ip = b.ips[i]!;
      const group = bySender.get(ip);
      if (group) group.push(line);
      else bySender.set(ip, [line]);
    });
    udpChain = udpChain.then(async () => {
      for (const [ip, lines] of bySender) {
        try {
          await submit(lines, { source: 'syslog:udp', format: 'syslog', observer: { ip } });
        } catch (err) {
          metrics.dropped.inc({ transport: 'udp', reason: 'bus_unavailable' }, lines.length);
          log.error({ err, lines: lines.length, sender: ip }, 'syslog UDP batch dropped: bus unavailable');
        }
      }
      receiver?.postMessage({ type: 'ack', bytes: b.bytes });
    });
  };
  if (opts.udpPort !== undefined) {
    const w = new Worker(new URL('./udp-receiver.mjs', import.meta.url), {
      workerData: { host: opts.host, port: opts.udpPort, recvBufferSize: opts.recvBufferSize ?? 8 * 1024 * 1024, maxMessageBytes: opts.maxMessageBytes, batchSize, lingerMs, maxQueuedBytes: opts.udpMaxQueuedBytes ?? 64 * 1024 * 1024, priority: opts.udpReceiverNice ?? 0 },
    });
    receiver = w;
    udp = await new Promise<{ port: number; recvBufferSize: number; priority?: number }>((resolve, reject) => {
      w.on('message', (m: FromReceiver) => {
        if (m.type === 'batch') onUdpBatch(m);
        else if (m.type === 'ready') resolve(m);
        else if (m.type === 'error') {
          log.error({ err: { message: m.message, code: m.code } }, 'syslog UDP socket error');
          reject(Object.assign(new Error(`syslog UDP ${opts.host}:${opts.udpPort}: ${m.message}`), { code: m.code }));
        }
      });
      w.once('error', reject);
    }).catch(async (err: unknown) => {
      await w.terminate();
      throw err;
    });
    metrics.watchUdp(udp.port, udp.recvBufferSize);
    const asked = opts.recvBufferSize ?? 8 * 1024 * 1024;
    // Linux reports twice what it grants (bookkeeping overhead); less than asked means rmem_max capped it.
    if (udp.recvBufferSize < asked) log.warn({ asked, recvBufferSize: udp.recvBufferSize }, 'syslog UDP receive buffer smaller than configured: raise net.core.rmem_max');
    if (udp.priority !== undefined && udp.priority > (opts.udpReceiverNice ?? 0)) log.warn({ asked: opts.udpReceiverNice, nice: udp.priority }, 'syslog UDP receiver thread priority not raised (needs CAP_SYS_NICE)');
    log.info({ port: udp.port, recvBufferSize: udp.recvBufferSize, receiverNice: udp.priority }, 'syslog UDP listening');
  }

  // TCP and TLS: framing, batching and backpressure per connection.
  const connections = new Map<Socket, Batcher>();
  const onConnection = (transport: 'tcp' | 'tls') => (socket: Socket) => {
    const ip = plainAddress(socket.remoteAddress);
    const peer = transport === 'tls' ? verifiedPeer(socket) : undefined;
    // A sensor authenticated by its certificate is named by it (ECS observer.name).
    const observer = ip || peer ? { ...(ip ? { ip } : {}), ...(peer ? { name: peer.name } : {}) } : undefined;
    const ctx: IngestContext = { source: `syslog:${transport}`, format: 'syslog', observer };
    const framer = new SyslogFramer(opts.maxMessageBytes);
    let lineNo = 0;
    const batcher = new Batcher(
      async (lines) => {
        try {
          await submit(lines, ctx);
        } catch (err) {
          log.error({ err, lines: lines.length, sender: ip }, `syslog ${transport} batch not accepted: closing the connection`);
          metrics.dropped.inc({ transport, reason: 'bus_unavailable' }, lines.length);
          metrics.closed.inc({ transport, reason: 'bus_unavailable' });
          socket.destroy();
        }
      },
      batchSize,
      lingerMs,
      () => socket.resume(),
    );
    connections.set(socket, batcher);
    metrics.connections.inc({ transport });
    const add = (frames: ReturnType<SyslogFramer['push']>) => {
      metrics.received.inc({ transport }, frames.length);
      for (const f of frames) batcher.add({ raw: f.raw, line: ++lineNo, rejectReason: f.rejectReason });
      if (batcher.busy) socket.pause();
    };
    if (opts.idleTimeoutMs) socket.setTimeout(opts.idleTimeoutMs);
    let closing: NodeJS.Timeout | undefined;
    socket.on('timeout', () => {
      if (closing) return;
      log.info({ sender: ip, transport, idleMs: opts.idleTimeoutMs }, 'syslog connection idle: closing');
      metrics.closed.inc({ transport, reason: 'idle' });
      // Half-close and keep reading: a sender that wrote just before it saw our FIN (rsyslog under
      // load does) still has its message read, where a destroy would answer it with a reset and
      // lose it. The sender's own close, or the grace period, ends the connection.
      socket.end();
      closing = setTimeout(() => {
        add(framer.end());
        socket.destroy();
      }, IDLE_CLOSE_GRACE_MS);
      closing.unref();
    });
    socket.on('data', (chunk: Buffer) => add(framer.push(chunk)));
    socket.on('end', () => {
      add(framer.end());
      void batcher.flush().finally(() => socket.end());
    });
    socket.on('error', (err) => log.warn({ err, sender: ip }, `syslog ${transport} connection error`));
    socket.on('close', () => {
      clearTimeout(closing);
      metrics.connections.dec({ transport });
      void batcher.flush().finally(() => connections.delete(socket));
    });
  };
  const capped = <S extends Server>(server: S, transport: Transport): S => {
    server.maxConnections = opts.maxConnections ?? 1024;
    server.on('drop', (d?: { remoteAddress?: string }) => {
      metrics.closed.inc({ transport, reason: 'limit' });
      log.warn({ sender: plainAddress(d?.remoteAddress), maxConnections: server.maxConnections }, `syslog ${transport} connection refused: connection limit reached`);
    });
    return server;
  };

  let tcp: Server | undefined;
  let tcpPort: number | undefined;
  if (opts.tcpPort !== undefined) {
    tcp = capped(createServer(onConnection('tcp')), 'tcp');
    tcpPort = await listenOn(tcp, opts.tcpPort, opts.host);
  }
  let tls: TlsServer | undefined;
  let tlsPort: number | undefined;
  if (opts.tls) {
    tls = capped(createTlsServer(tlsServerOptions(opts.tls, 'collector.syslog.tls'), onConnection('tls')), 'tls');
    tls.on('tlsClientError', (err, socket) => {
      metrics.closed.inc({ transport: 'tls', reason: 'tls_handshake' });
      log.warn({ err, sender: plainAddress(socket.remoteAddress) }, 'syslog TLS handshake failed');
    });
    tlsPort = await listenOn(tls, opts.tls.port, opts.host);
  }

  return {
    udpPort: udp?.port,
    udpRecvBufferSize: udp?.recvBufferSize,
    udpReceiverNice: udp?.priority,
    tcpPort,
    tlsPort,
    reloadTls() {
      if (tls && opts.tls) reloadTls(tls, opts.tls, 'collector.syslog.tls');
    },
    async close() {
      const closing = [tcp, tls].filter((s): s is Server => s !== undefined).map((s) => new Promise<void>((r) => s.close(() => r())));
      if (receiver) {
        const w = receiver;
        await new Promise<void>((resolve) => {
          w.on('message', (m: FromReceiver) => m.type === 'closed' && resolve());
          w.postMessage({ type: 'close' });
        });
        await udpChain;
        await w.terminate();
      }
      // What was received is submitted before the connections go.
      await Promise.all([...connections.values()].map((b) => b.flush()));
      for (const s of connections.keys()) s.destroy();
      await Promise.all(closing);
    },
  };
}
