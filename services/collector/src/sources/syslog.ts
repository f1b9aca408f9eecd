import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { retry } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import { Batcher } from './batcher.ts';
import { SyslogFramer } from './framing.ts';
import type { Ingest, IngestContext, RawLine } from './types.ts';

/**
 * Syslog receiver: UDP (RFC 5426, one datagram = one message) and TCP (RFC 6587, both framings).
 *
 * Delivery: UDP is best-effort (the protocol has no acknowledgement; a datagram lost on the wire
 * or in a full socket buffer is gone, and a batch the bus refuses after retries is dropped and
 * logged). TCP is at-least-once only up to our socket: the connection is paused while a batch is
 * submitted, so a slow bus slows the sender instead of filling memory, but syslog has no
 * application acknowledgement — messages the sender wrote before a crash or before we close the
 * connection on a bus failure may be lost, and the sender cannot know.
 */

export interface SyslogServerOptions {
  ingest: Ingest;
  host: string;
  /** Start UDP on this port (0 = any free port); omitted = no UDP listener. */
  udpPort?: number;
  /** Start TCP on this port (0 = any free port); omitted = no TCP listener. */
  tcpPort?: number;
  maxMessageBytes: number;
  logger: Logger;
  batchSize?: number;
  lingerMs?: number;
  /** Submit attempts before a batch is given up (UDP) or the connection closed (TCP). */
  submitAttempts?: number;
}

export interface SyslogServer {
  udpPort?: number;
  tcpPort?: number;
  close(): Promise<void>;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: the sender's address as people write it. */
const plainAddress = (a: string | undefined): string | undefined => (a?.startsWith('::ffff:') ? a.slice(7) : a);

export async function startSyslogServer(opts: SyslogServerOptions): Promise<SyslogServer> {
  const batchSize = opts.batchSize ?? 500;
  const lingerMs = opts.lingerMs ?? 50;
  const attempts = opts.submitAttempts ?? 5;
  const log = opts.logger;

  const submit = (lines: RawLine[], ctx: IngestContext) =>
    retry(() => opts.ingest.submit(lines, ctx), {
      retries: attempts,
      onRetry: (err, attempt, delayMs) => log.warn({ err, attempt, delayMs, source: ctx.source }, 'syslog batch not accepted, retrying'),
    });

  // UDP: one batcher per sender address, since the observer is part of the submit context.
  let udp: UdpSocket | undefined;
  const udpBatchers = new Map<string, Batcher>();
  const onDatagram = (msg: Buffer, rinfo: RemoteInfo) => {
    const ip = plainAddress(rinfo.address) ?? 'unknown';
    let b = udpBatchers.get(ip);
    if (!b) {
      const ctx: IngestContext = { source: 'syslog:udp', format: 'syslog', observer: { ip } };
      b = new Batcher(
        (lines) => submit(lines, ctx).then(
          () => undefined,
          (err: unknown) => log.error({ err, lines: lines.length, sender: ip }, 'syslog UDP batch dropped: bus unavailable'),
        ),
        batchSize,
        lingerMs,
      );
      udpBatchers.set(ip, b);
    }
    let end = msg.length;
    while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0x00)) end--;
    if (end === 0) return;
    b.add(
      end > opts.maxMessageBytes
        ? { raw: msg.subarray(0, opts.maxMessageBytes).toString('utf8'), rejectReason: `message exceeds ${opts.maxMessageBytes} bytes (${end} bytes)` }
        : { raw: msg.subarray(0, end).toString('utf8') },
    );
  };
  if (opts.udpPort !== undefined) {
    udp = createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', onDatagram);
    udp.on('error', (err) => log.error({ err }, 'syslog UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp!.once('error', reject);
      udp!.bind(opts.udpPort, opts.host, () => {
        udp!.off('error', reject);
        resolve();
      });
    });
  }

  // TCP: framing, batching and backpressure per connection.
  let tcp: Server | undefined;
  const connections = new Map<Socket, Batcher>();
  const onConnection = (socket: Socket) => {
    const ip = plainAddress(socket.remoteAddress);
    const ctx: IngestContext = { source: 'syslog:tcp', format: 'syslog', observer: ip ? { ip } : undefined };
    const framer = new SyslogFramer(opts.maxMessageBytes);
    let lineNo = 0;
    const batcher = new Batcher(
      async (lines) => {
        try {
          await submit(lines, ctx);
        } catch (err) {
          log.error({ err, lines: lines.length, sender: ip }, 'syslog TCP batch not accepted: closing the connection');
          socket.destroy();
        }
      },
      batchSize,
      lingerMs,
      () => socket.resume(),
    );
    connections.set(socket, batcher);
    const add = (frames: ReturnType<SyslogFramer['push']>) => {
      for (const f of frames) batcher.add({ raw: f.raw, line: ++lineNo, rejectReason: f.rejectReason });
      if (batcher.busy) socket.pause();
    };
    socket.on('data', (chunk: Buffer) => add(framer.push(chunk)));
    socket.on('end', () => {
      add(framer.end());
      void batcher.flush().finally(() => socket.end());
    });
    socket.on('error', (err) => log.warn({ err, sender: ip }, 'syslog TCP connection error'));
    socket.on('close', () => {
      void batcher.flush().finally(() => connections.delete(socket));
    });
  };
  if (opts.tcpPort !== undefined) {
    tcp = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      tcp!.once('error', reject);
      tcp!.listen(opts.tcpPort, opts.host, () => {
        tcp!.off('error', reject);
        resolve();
      });
    });
  }

  const tcpAddr = tcp?.address();
  return {
    udpPort: udp?.address().port,
    tcpPort: typeof tcpAddr === 'object' && tcpAddr ? tcpAddr.port : undefined,
    async close() {
      const closedTcp = tcp ? new Promise<void>((r) => tcp!.close(() => r())) : Promise.resolve();
      if (udp) await new Promise<void>((r) => udp!.close(() => r()));
      // What was received is submitted before the connections go.
      await Promise.all([...udpBatchers.values(), ...connections.values()].map((b) => b.flush()));
      for (const s of connections.keys()) s.destroy();
      await closedTcp;
    },
  };
}
