import type { ConnState } from '@soc/schema';

/**
 * The categorical vocabularies of the NSL-KDD basic features. A categorical feature is carried in a
 * feature vector as its index in these arrays (-1 when unknown); the order is part of the model's
 * contract, so append only — never reorder.
 */
export const PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;

/** The 70 `service` values of NSL-KDD, in the order of the published feature description. */
export const SERVICES = [
  'aol', 'auth', 'bgp', 'courier', 'csnet_ns', 'ctf', 'daytime', 'discard', 'domain', 'domain_u',
  'echo', 'eco_i', 'ecr_i', 'efs', 'exec', 'finger', 'ftp', 'ftp_data', 'gopher', 'harvest',
  'hostnames', 'http', 'http_2784', 'http_443', 'http_8001', 'imap4', 'IRC', 'iso_tsap', 'klogin', 'kshell',
  'ldap', 'link', 'login', 'mtp', 'name', 'netbios_dgm', 'netbios_ns', 'netbios_ssn', 'netstat', 'nnsp',
  'nntp', 'ntp_u', 'other', 'pm_dump', 'pop_2', 'pop_3', 'printer', 'private', 'red_i', 'remote_job',
  'rje', 'shell', 'smtp', 'sql_net', 'ssh', 'sunrpc', 'supdup', 'systat', 'telnet', 'tftp_u',
  'tim_i', 'time', 'urh_i', 'urp_i', 'uucp', 'uucp_path', 'vmnet', 'whois', 'X11', 'Z39_50',
] as const;

export const FLAGS = ['SF', 'S0', 'REJ', 'RSTO', 'RSTR', 'RSTOS0', 'SH', 'S1', 'S2', 'S3', 'OTH'] as const;

export type KddProtocol = (typeof PROTOCOLS)[number];
export type KddService = (typeof SERVICES)[number];
export type KddFlag = (typeof FLAGS)[number];

/**
 * Zeek conn_state → KDD flag. KDD's flags are Bro's conn_state of 1998 verbatim; Zeek later added two
 * responder-side states that KDD never saw, mapped to the KDD state with the same observable meaning:
 * - RSTRH (responder SYN-ACK then RST, no originator SYN seen) → RSTR: the connection ends in a
 *   responder reset, which is what KDD's RSTR (and the rerror-style features) describe.
 * - SHR (responder SYN-ACK then FIN, no originator SYN seen) → SH: a half-open exchange closed by a
 *   FIN without a completed handshake, KDD's SH seen from the other side.
 */
export const CONN_STATE_TO_FLAG: Readonly<Record<ConnState, KddFlag>> = {
  S0: 'S0', S1: 'S1', SF: 'SF', REJ: 'REJ', S2: 'S2', S3: 'S3', RSTO: 'RSTO', RSTR: 'RSTR',
  RSTOS0: 'RSTOS0', RSTRH: 'RSTR', SH: 'SH', SHR: 'SH', OTH: 'OTH',
};

/** KDD "SYN error" flags (serror_rate family): a SYN that never led to a normally closed connection. */
export const SERROR_FLAGS: ReadonlySet<KddFlag> = new Set(['S0', 'S1', 'S2', 'S3']);
/** KDD "REJ error" flags (rerror_rate family): the connection attempt was rejected. */
export const RERROR_FLAGS: ReadonlySet<KddFlag> = new Set(['REJ']);

/** Zeek `service` names (from its protocol analysers) → KDD service, where one corresponds. */
const ZEEK_SERVICE: Readonly<Record<string, KddService>> = {
  http: 'http', ftp: 'ftp', 'ftp-data': 'ftp_data', ssh: 'ssh', smtp: 'smtp', telnet: 'telnet',
  pop3: 'pop_3', imap: 'imap4', irc: 'IRC', ntp: 'ntp_u', finger: 'finger', ldap: 'ldap', nntp: 'nntp',
  tftp: 'tftp_u', sunrpc: 'sunrpc', 'netbios-ns': 'netbios_ns', nbns: 'netbios_ns', 'netbios-ssn': 'netbios_ssn',
  'netbios-dgm': 'netbios_dgm', gopher: 'gopher', whois: 'whois', x11: 'X11', bgp: 'bgp', auth: 'auth', ident: 'auth',
};

/** Well-known ports of the KDD services (IANA assignments), used when the sensor named no service. */
const TCP_PORT: Readonly<Record<number, KddService>> = {
  5: 'rje', 7: 'echo', 9: 'discard', 11: 'systat', 13: 'daytime', 15: 'netstat', 20: 'ftp_data', 21: 'ftp',
  22: 'ssh', 23: 'telnet', 25: 'smtp', 37: 'time', 42: 'name', 43: 'whois', 53: 'domain', 57: 'mtp',
  70: 'gopher', 71: 'remote_job', 79: 'finger', 80: 'http', 84: 'ctf', 95: 'supdup', 101: 'hostnames',
  102: 'iso_tsap', 105: 'csnet_ns', 109: 'pop_2', 110: 'pop_3', 111: 'sunrpc', 113: 'auth', 117: 'uucp_path',
  119: 'nntp', 137: 'netbios_ns', 138: 'netbios_dgm', 139: 'netbios_ssn', 143: 'imap4', 150: 'sql_net',
  175: 'vmnet', 179: 'bgp', 194: 'IRC', 210: 'Z39_50', 245: 'link', 389: 'ldap', 433: 'nnsp', 443: 'http_443',
  512: 'exec', 513: 'login', 514: 'shell', 515: 'printer', 520: 'efs', 530: 'courier', 540: 'uucp',
  543: 'klogin', 544: 'kshell', 2784: 'http_2784', 5190: 'aol', 6667: 'IRC', 8001: 'http_8001',
};
const UDP_PORT: Readonly<Record<number, KddService>> = { 53: 'domain_u', 69: 'tftp_u', 123: 'ntp_u', 137: 'netbios_ns', 138: 'netbios_dgm' };

/** ICMP (Zeek puts the type in the originator port): echo request/reply, unreachable, redirect, timestamp. */
function icmpService(type: number): KddService {
  switch (type) {
    case 8: return 'eco_i';
    case 0: return 'ecr_i';
    case 3: return 'urp_i';
    case 5: return 'red_i';
    case 13: case 14: return 'tim_i';
    default: return 'urh_i';
  }
}

/** Sensors name few distinct service lists: each is split once (a bounded number kept). */
const ANALYSER_NAMES = new Map<string, readonly string[]>();

function analyserNames(service: string): readonly string[] {
  let names = ANALYSER_NAMES.get(service);
  if (names === undefined) {
    names = service.toLowerCase().split(',').map((n) => n.trim());
    if (ANALYSER_NAMES.size < 1024) ANALYSER_NAMES.set(service, names);
  }
  return names;
}

/**
 * The ONE service vocabulary map, used by training (KDD records already carry KDD names) and
 * serving (flows carry Zeek names): Zeek service → KDD service; else the responder port's KDD
 * service; else `private` for unassigned ports (≥ 1024, as KDD labels them) and `other` below.
 * Zeek may list several analysers ("ssl,http"): the first one that maps wins; TLS maps to http_443
 * only on 443, because KDD has no generic TLS service.
 */
export function kddService(service: string, proto: string, srcPort: number, dstPort: number): KddService {
  if (proto === 'icmp') return icmpService(srcPort);
  for (const s of analyserNames(service)) {
    if (s === 'dns') return proto === 'udp' ? 'domain_u' : 'domain';
    if ((s === 'ssl' || s === 'tls') && dstPort === 443) return 'http_443';
    const mapped = ZEEK_SERVICE[s];
    if (mapped) return mapped;
  }
  if (proto === 'tcp' && dstPort >= 6000 && dstPort <= 6063) return 'X11';
  const byPort = (proto === 'udp' ? UDP_PORT : TCP_PORT)[dstPort];
  if (byPort) return byPort;
  return dstPort >= 1024 ? 'private' : 'other';
}

/** value → index lookup for a vocabulary (-1 when absent), O(1) per call. */
export function indexer(vocab: readonly string[]): (value: string) => number {
  const m = new Map(vocab.map((v, i) => [v, i]));
  return (value) => m.get(value) ?? -1;
}
