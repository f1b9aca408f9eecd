import { readFileSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Drops the kernel counted for UDP sockets bound to `port`, from the text of /proc/net/udp or
 * /proc/net/udp6 (last column, `drops`: datagrams that found the receive buffer full).
 * Undefined when no socket on that port is listed.
 */
export function udpDropsFromProc(text: string, port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let total: number | undefined;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13 || !cols[1]!.endsWith(`:${hexPort}`)) continue;
    total = (total ?? 0) + Number(cols[cols.length - 1]);
  }
  return total;
}

/** Kernel drops for our UDP port on Linux; undefined where /proc does not report them. */
export function kernelUdpDrops(port: number): number | undefined {
  let total: number | undefined;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const n = udpDropsFromProc(text, port);
    if (n !== undefined) total = (total ?? 0) + n;
  }
  return total;
}

export type Transport = 'udp' | 'tcp' | 'tls';

/** The syslog source's metrics, on the process registry. */
export class SyslogMetrics {
  readonly received: Counter<'transport'>;
  readonly dropped: Counter<'transport' | 'reason'>;
  readonly connections: Gauge<'transport'>;
  readonly closed: Counter<'transport' | 'reason'>;
  readonly recvBuffer: Gauge;
  private udpPort: number | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({ name: 'soc_syslog_messages_received_total', help: 'Syslog messages received (before parsing)', labelNames: ['transport'], registers });
    this.dropped = new Counter({ name: 'soc_syslog_messages_dropped_total', help: 'Syslog messages received and then lost: queue full, bus unavailable', labelNames: ['transport', 'reason'], registers });
    this.connections = new Gauge({ name: 'soc_syslog_connections', help: 'Open syslog TCP/TLS connections', labelNames: ['transport'], registers });
    this.closed = new Counter({ name: 'soc_syslog_connections_closed_total', help: 'Syslog connections closed or refused by us: idle, limit, tls_handshake, bus_unavailable', labelNames: ['transport', 'reason'], registers });
    this.recvBuffer = new Gauge({ name: 'soc_syslog_udp_receive_buffer_bytes', help: 'SO_RCVBUF of the syslog UDP socket as the kernel set it', registers });
    const self = this;
    new Gauge({
      name: 'soc_syslog_udp_kernel_drops',
      help: 'Datagrams the kernel dropped on the syslog UDP socket (receive buffer full), from /proc/net/udp',
      registers,
      collect() {
        const n = self.udpPort === undefined ? undefined : kernelUdpDrops(self.udpPort);
        if (n !== undefined) this.set(n);
      },
    });
  }

  watchUdp(port: number, recvBufferSize: number): void {
    this.udpPort = port;
    this.recvBuffer.set(recvBufferSize);
  }
}
