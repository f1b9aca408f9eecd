import { rng } from '@soc/prng';

/**
 * A realistic small-enterprise network as Zeek conn.log JSON lines, seeded: workstations with a
 * daily rhythm (DNS, Kerberos, LDAP, SMB to the domain controller; HTTPS to a long tail of internet
 * sites with a few popular ones; hourly update checks; NTP; broadcast/multicast chatter), the DC
 * syncing time with an internet NTP server, and injected threats active from the first hour:
 * jittered C2 beacons to a rare internet address on an uncommon port, a vertical port scan of an
 * internal server, and slow exfiltration of large uploads to another internet address.
 */
export interface EnterpriseOptions {
  seed: number;
  hosts?: number;
  hours?: number;
  /** Local hour the capture starts at. */
  startHour?: number;
  sites?: number;
  beaconPeriodS?: number;
  /** Uniform jitter as a share of the period, e.g. 0.2 = ±20 %. */
  jitter?: number;
  c2Port?: number;
  scan?: boolean;
  exfil?: boolean;
}

export interface EnterpriseCapture {
  lines: string[];
  victim: string;
  c2: string;
  scanTarget: string;
  exfil: string;
  /** Every injected threat destination. */
  bad: string[];
  destinations: number;
}

const DC = '10.1.0.2';
const FILE_SERVER = '10.1.0.3';
const UPDATE_CDN = '13.107.4.50';
const NTP_POOL = '162.159.200.1';

export function enterpriseCapture(o: EnterpriseOptions): EnterpriseCapture {
  const r = rng(o.seed);
  const hosts = Array.from({ length: o.hosts ?? 12 }, (_, i) => `10.1.1.${20 + i}`);
  const hours = o.hours ?? 10;
  const t0 = Date.UTC(2024, 4, 13, o.startHour ?? 7) / 1000;
  const t1 = t0 + hours * 3600;
  const nSites = o.sites ?? 300;
  const sites = Array.from({ length: nSites }, (_, i) => `${23 + (i % 170)}.${(i * 37) % 250}.${(i * 11) % 250}.${1 + (i % 250)}`);
  let uid = 0;
  const lines: string[] = [];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const eph = () => 49152 + Math.floor(r() * 16000);
  const conn = (ts: number, src: string, dst: string, dport: number, proto: string, service: string | undefined, state: string, duration: number, ob: number, rb: number) => {
    if (ts >= t1) return;
    lines.push(JSON.stringify({
      ts: +ts.toFixed(6), uid: `E${(uid++).toString(36)}`, 'id.orig_h': src, 'id.orig_p': eph(), 'id.resp_h': dst, 'id.resp_p': dport, proto,
      ...(service ? { service } : {}), duration: +duration.toFixed(6), orig_bytes: Math.round(ob), resp_bytes: Math.round(rb), conn_state: state,
      missed_bytes: 0, history: state === 'SF' ? 'ShADadFf' : state === 'REJ' ? 'Sr' : 'S', orig_pkts: 1 + Math.round(ob / 1000), resp_pkts: state === 'SF' ? 1 + Math.round(rb / 1000) : 0,
    }));
  };
  const busy = (ts: number) => {
    const h = new Date(ts * 1000).getUTCHours();
    return h >= 8 && h < 18 ? 1 : 0.08; // office hours versus night
  };
  // Zipf-like popularity: a few sites everyone uses, a long tail each host visits once or twice.
  const site = () => sites[Math.min(nSites - 1, Math.floor(nSites * r() ** 2.5))]!;

  for (const h of hosts) {
    // Logon: Kerberos, LDAP, SMB to the DC; then group-policy refresh every 90 ± 30 minutes.
    for (let t = t0 + r() * 600; t < t1; t += 3600 + (r() * 2 - 1) * 1800) {
      conn(t, h, DC, 88, 'tcp', 'krb_tcp', 'SF', 0.02, 1500, 1400);
      conn(t + 0.1, h, DC, 389, 'tcp', 'ldap', 'SF', 0.3, 800, 3000 + r() * 2000);
      conn(t + 0.5, h, DC, 445, 'tcp', 'smb', 'SF', 1 + r() * 5, 4000 + r() * 8000, 20000 + r() * 40000);
    }
    for (let t = t0 + r() * 1024; t < t1; t += 1024 + r() * 30) conn(t, h, DC, 123, 'udp', 'ntp', 'SF', 0.001, 48, 48);
    for (let t = t0 + r() * 3600; t < t1; t += 3600 * (0.9 + r() * 0.2)) {
      conn(t, h, DC, 53, 'udp', 'dns', 'SF', 0.01, 40, 120);
      conn(t + 0.05, h, UPDATE_CDN, 443, 'tcp', 'ssl', 'SF', 0.4, 900, 4000 + r() * 1000);
    }
    for (let t = t0 + r() * 900; t < t1; t += 600 + r() * 1200) {
      conn(t, h, '10.1.255.255', 137, 'udp', 'dns', 'S0', 0, 50, 0);
      if (r() < 0.5) conn(t + 1, h, '239.255.255.250', 1900, 'udp', undefined, 'S0', 0, 170, 0);
      if (r() < 0.5) conn(t + 2, h, '224.0.0.252', 5355, 'udp', 'dns', 'S0', 0, 30, 0);
    }
    // Browsing: Poisson-ish activity following the daily rhythm.
    for (let t = t0; t < t1; ) {
      t += -Math.log(1 - r()) * (90 / busy(t));
      const dst = site();
      conn(t, h, DC, 53, 'udp', 'dns', 'SF', 0.01, 35, 100 + r() * 200);
      const parallel = 1 + Math.floor(r() * 4);
      for (let k = 0; k < parallel; k++) {
        // Zeek names what it saw: TLS on 443, HTTP on 80 (a real sensor never reports TLS on 80 here).
        const tls = r() < 0.9;
        conn(t + 0.05 + k * 0.02, h, dst, tls ? 443 : 80, 'tcp', tls ? 'ssl' : 'http', 'SF', r() * 30, 500 + r() * 3000, 2000 + r() ** 3 * 2e6);
      }
      if (r() < 0.05) conn(t + 1, h, FILE_SERVER, 445, 'tcp', 'smb', 'SF', 2 + r() * 60, 5000 + r() * 1e5, 1e4 + r() * 1e6);
    }
  }
  for (let t = t0 + 30; t < t1; t += 1024) conn(t, DC, NTP_POOL, 123, 'udp', 'ntp', 'SF', 0.02, 48, 48);

  const victim = hosts[0]!;
  const c2 = `185.${100 + Math.floor(r() * 100)}.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}`;
  const period = o.beaconPeriodS ?? 60;
  const jitter = o.jitter ?? 0.2;
  const c2Port = o.c2Port ?? pick([4443, 2222, 8088, 9443, 1337]);
  for (let t = t0 + 60 + r() * 300; t < t1; t += period * (1 + (r() * 2 - 1) * jitter)) {
    conn(t, victim, c2, c2Port, 'tcp', r() < 0.8 ? 'ssl' : undefined, 'SF', 0.2 + r() * 0.3, 300 + Math.floor(r() * 40), 250 + Math.floor(r() * 60));
  }
  const scanner = hosts[1]!;
  const scanTarget = '10.1.0.50';
  if (o.scan ?? true) {
    const start = t0 + 1800 + r() * 1800;
    for (let p = 1; p <= 1024; p++) conn(start + p * 0.05, scanner, scanTarget, p, 'tcp', undefined, r() < 0.97 ? 'REJ' : 'S0', 0, 0, 0);
  }
  const exfil = `45.${10 + Math.floor(r() * 200)}.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}`;
  if (o.exfil ?? true) {
    for (let t = t0 + 600 + r() * 600; t < t1; t += 900 + r() * 1800) conn(t, victim, exfil, 443, 'tcp', 'ssl', 'SF', 20 + r() * 40, 3e6 + r() * 2e6, 5000 + r() * 2000);
  }
  lines.sort((a, b) => (JSON.parse(a) as { ts: number }).ts - (JSON.parse(b) as { ts: number }).ts);
  const dests = new Set(lines.map((l) => (JSON.parse(l) as Record<string, string>)['id.resp_h']));
  return { lines, victim, c2, scanTarget, exfil, bad: [c2, ...(o.scan ?? true ? [scanTarget] : []), ...(o.exfil ?? true ? [exfil] : [])], destinations: dests.size };
}
