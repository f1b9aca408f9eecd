/** Small Zeek conn.log (JSON) generators for end-to-end tests; seeded, so runs are repeatable. */

import { rng } from '@soc/prng';

// Generators elsewhere in the test helpers draw from the same seeded source.
export { rng };

export interface ConnOpts {
  ts: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto?: 'tcp' | 'udp' | 'icmp';
  service?: string;
  state: string;
  duration?: number;
  ob?: number;
  rb?: number;
}

let uid = 0;
export function conn(o: ConnOpts): string {
  return JSON.stringify({
    ts: o.ts,
    uid: `C${(uid++).toString(36).padStart(8, '0')}`,
    'id.orig_h': o.src,
    'id.orig_p': o.sport,
    'id.resp_h': o.dst,
    'id.resp_p': o.dport,
    proto: o.proto ?? 'tcp',
    ...(o.service ? { service: o.service } : {}),
    duration: o.duration ?? 0,
    orig_bytes: o.ob ?? 0,
    resp_bytes: o.rb ?? 0,
    conn_state: o.state,
    missed_bytes: 0,
    orig_pkts: o.ob ? 4 : 1,
    resp_pkts: o.rb ? 4 : o.state === 'S0' ? 0 : 1,
  });
}

/** Ordinary web browsing: completed HTTP connections from a few clients to a few servers. */
export function normalWeb(start: number, n: number, seed = 1, servers: string[] = ["10.0.2.1"]): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(conn({ ts: start + i * 1.5 + r(), src: `10.0.1.${10 + Math.floor(r() * 20)}`, sport: 40000 + Math.floor(r() * 20000), dst: servers[Math.floor(r() * servers.length)]!, dport: 80, service: 'http', state: 'SF', duration: r() * 2, ob: 200 + Math.floor(r() * 150), rb: 500 + Math.floor(r() * 4000) }));
  }
  return out;
}

/** One source probing many ports of one host: refused and unanswered SYNs. */
export function portScan(start: number, src: string, dst: string, ports: number): string[] {
  return Array.from({ length: ports }, (_, i) => conn({ ts: start + i * 0.01, src, sport: 55000, dst, dport: 1 + i, state: i % 2 ? 'REJ' : 'S0' }));
}

/** Many SYNs to one port that are never answered. */
export function synFlood(start: number, src: string, dst: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => conn({ ts: start + i * 0.005, src, sport: 1024 + (i % 60000), dst, dport: 80, service: 'http', state: 'S0' }));
}
