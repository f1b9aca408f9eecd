import { readFileSync } from 'node:fs';

/**
 * Which ports the IANA Service Name and Port Number Registry assigns to the protocols Zeek
 * identifies (conn.log `service`). Data: ../data/iana-service-ports.csv (CC0, see its README).
 * A protocol on a port not registered for it is ATT&CK T1571 (Non-Standard Port): rare for
 * ordinary clients, common for command and control that hides TLS or HTTP on an odd port.
 */

/** Zeek service name → the IANA service names that carry that protocol. 'tls' means "described as over TLS/SSL". */
const ZEEK_TO_IANA: Record<string, readonly string[]> = {
  http: ['http', 'www', 'www-http', 'http-alt', 'http-mgmt', 'http-rpc-epmap'],
  ssl: ['tls', 'secure-mqtt'],
  quic: ['tls', 'quic'],
  dns: ['domain', 'domain-s', 'mdns', 'llmnr', 'netbios-ns'],
  ssh: ['ssh'],
  smtp: ['smtp', 'submission', 'submissions'],
  irc: ['irc', 'ircu', 'ircs-u', 'ircd'],
  ftp: ['ftp'],
  'ftp-data': ['ftp-data'],
  ntp: ['ntp'],
  dhcp: ['bootps', 'bootpc', 'dhcpv6-client', 'dhcpv6-server'],
  krb: ['kerberos'],
  krb_tcp: ['kerberos'],
  smb: ['microsoft-ds', 'netbios-ssn'],
  rdp: ['ms-wbt-server'],
  sip: ['sip', 'sip-tls'],
  snmp: ['snmp', 'snmptrap'],
  mysql: ['mysql'],
  pop3: ['pop3'],
  imap: ['imap'],
  socks: ['socks'],
  radius: ['radius', 'radius-acct'],
  syslog: ['syslog', 'syslog-tls'],
  xmpp: ['xmpp-client', 'xmpp-server'],
  mqtt: ['mqtt', 'secure-mqtt'],
  ldap: ['ldap', 'ldaps'],
  telnet: ['telnet'],
  dce_rpc: ['epmap', 'http-rpc-epmap'],
  rtsp: ['rtsp'],
  postgresql: ['postgresql'],
  tftp: ['tftp'],
  rfb: ['rfb'],
};

const TLS_DESCRIPTION = /\b(TLS|SSL|DTLS|https)\b/i;

interface Registry {
  /** `${ianaName}/${transport}` → ports. */
  byName: Map<string, Set<number>>;
}

function load(): Registry {
  const text = readFileSync(new URL('../data/iana-service-ports.csv', import.meta.url), 'utf8');
  const byName = new Map<string, Set<number>>();
  const add = (k: string, p: number) => {
    let s = byName.get(k);
    if (!s) byName.set(k, (s = new Set()));
    s.add(p);
  };
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [name, port, transport] = line.split(',', 3) as [string, string, string];
    const desc = line.slice(name.length + port.length + transport.length + 3);
    add(`${name}/${transport}`, Number(port));
    if (TLS_DESCRIPTION.test(desc)) add(`tls/${transport}`, Number(port));
  }
  return { byName };
}

let registry: Registry | undefined;

/**
 * Whether `port` is registered for the Zeek `service` over `transport`: true, false, or undefined
 * when the service is unknown ('-', '') or not one this table maps (no opinion). A multi-valued
 * service ("ssl,http") is registered when any of its protocols is.
 */
export function registeredFor(service: string, transport: string, port: number): boolean | undefined {
  registry ??= load();
  let known = false;
  for (const s of service.split(',')) {
    const names = ZEEK_TO_IANA[s.trim().toLowerCase()];
    if (!names) continue;
    known = true;
    for (const n of names) if (registry.byName.get(`${n}/${transport}`)?.has(port)) return true;
  }
  return known ? false : undefined;
}

/** Tor's default relay ports (tor(1) manual: ORPort 9001, DirPort 9030; SocksPort 9050/9150 locally). */
export const TOR_PORTS: ReadonlySet<number> = new Set([9001, 9030, 9040, 9050, 9051, 9150]);

/**
 * Ports whose service is a standard, expected one at any site (IANA well-known assignments for
 * name resolution, directory, file sharing, time, web, mail). A port outside this list is not
 * suspicious by itself: the evaluation calls a destination reached only on these "plain".
 */
export const WELL_KNOWN_PORTS: ReadonlySet<number> = new Set([
  20, 21, 22, 25, 53, 67, 68, 80, 88, 110, 123, 135, 137, 138, 139, 143, 161, 389, 443, 445, 464, 465, 514, 587, 636,
  853, 993, 995, 1900, 3268, 3269, 3389, 5353, 5355, 8080,
]);
