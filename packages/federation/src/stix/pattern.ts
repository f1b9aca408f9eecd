import { normalizeIp, parseCidr, formatIp } from '@soc/netaddr';

/**
 * STIX patterns to the observables the detector can match on one event: addresses and CIDRs
 * (flows), domains (DNS queries, TLS SNI, HTTP hosts), URLs (HTTP) and file hashes (Zeek files,
 * Suricata fileinfo). Supported, after the OASIS grammar (STIXPattern.g4):
 *   - observations `[ … ]` joined by OR;
 *   - inside one, comparisons joined by OR, and AND only where it still names one matchable
 *     object: MISP's `network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value
 *     = '5.6.7.8'`, several hashes (and the name) of one file;
 *   - `=` and, for addresses, `ISSUBSET` with a CIDR.
 * An unsupported disjunct is dropped and reported (matching less than the producer meant is safe);
 * an unsupported conjunction, qualifier (WITHIN, REPEATS, START/STOP) or AND/FOLLOWEDBY between
 * observations refuses the pattern, because taking part of it would match more than was meant.
 */
export type Observable =
  | { kind: 'ip'; value: string }
  | { kind: 'cidr'; value: string }
  | { kind: 'domain'; value: string }
  | { kind: 'url'; value: string }
  | { kind: 'file'; hashes: Partial<Record<HashAlgo, string>>; name?: string };
export type HashAlgo = 'md5' | 'sha1' | 'sha256' | 'sha512';

export type PatternResult = { ok: true; observables: Observable[]; dropped: string[] } | { ok: false; error: string };

interface Comparison { type: string; path: string; op: string; value: string }

const HASHES: Record<string, HashAlgo> = { MD5: 'md5', 'SHA-1': 'sha1', SHA1: 'sha1', 'SHA-256': 'sha256', SHA256: 'sha256', 'SHA-512': 'sha512', SHA512: 'sha512' };
const HEX = /^[0-9a-fA-F]+$/;
const HASH_LEN: Record<HashAlgo, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** Splits `s` on a keyword (surrounded by white space) outside quotes and brackets. */
function splitOn(s: string, word: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted && ch === '\\') {
      cur += ch + (s[++i] ?? '');
      continue;
    }
    if (ch === "'") quoted = !quoted;
    if (!quoted && (ch === '[' || ch === '(')) depth++;
    if (!quoted && (ch === ']' || ch === ')')) depth--;
    const m = !quoted && depth === 0 ? new RegExp(`^\\s+${word}\\s+`).exec(s.slice(i)) : null;
    if (m) {
      parts.push(cur);
      cur = '';
      i += m[0].length - 1;
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim());
}

const COMPARISON = /^([a-z0-9-]+):((?:[a-zA-Z0-9_]+|'[^']+'|\[\*\]|\[\d+\]|\.)+)\s*(=|!=|ISSUBSET|ISSUPERSET|LIKE|MATCHES|IN|<=|>=|<|>)\s*'((?:[^'\\]|\\.)*)'$/;

function comparison(s: string): Comparison | string {
  const m = COMPARISON.exec(s);
  if (!m) return `unsupported comparison "${s.slice(0, 80)}"`;
  return { type: m[1]!, path: m[2]!.replace(/'/g, ''), op: m[3]!, value: m[4]!.replace(/\\(.)/g, '$1') };
}

function address(value: string, op: string, type?: string): Observable | string {
  const family = type === 'ipv4-addr' ? 4 : type === 'ipv6-addr' ? 6 : undefined;
  if (value.includes('/')) {
    const c = parseCidr(value);
    if (!c) return `not an address or CIDR: ${value.slice(0, 64)}`;
    if (family && c.version !== family) return `${value.slice(0, 64)} is not an ${type}`;
    if (c.prefix === (c.version === 4 ? 32 : 128)) return { kind: 'ip', value: formatIp({ version: c.version, value: c.network }) };
    return { kind: 'cidr', value: `${formatIp({ version: c.version, value: c.network })}/${c.prefix}` };
  }
  if (op !== '=') return `${op} needs a CIDR`;
  const ip = normalizeIp(value);
  if (!ip) return `not an address: ${value.slice(0, 64)}`;
  if (family && (ip.includes(':') ? 6 : 4) !== family) return `${value.slice(0, 64)} is not an ${type}`;
  return { kind: 'ip', value: ip };
}

/** One conjunction (comparisons joined by AND) to one observable, or why it cannot be matched. */
function conjunction(terms: Comparison[]): Observable | string {
  const type = terms[0]!.type;
  if (terms.some((t) => t.type !== type)) return `AND across object types (${[...new Set(terms.map((t) => t.type))].join(', ')})`;
  const bad = terms.find((t) => t.op !== '=' && !(t.op === 'ISSUBSET' && /value$/.test(t.path)));
  if (bad) return `operator ${bad.op} on ${type}:${bad.path}`;
  switch (type) {
    case 'ipv4-addr':
    case 'ipv6-addr':
      if (terms.length !== 1 || terms[0]!.path !== 'value') return `unsupported ${type} comparison ${terms.map((t) => t.path).join(' AND ')}`;
      return address(terms[0]!.value, terms[0]!.op, type);
    case 'network-traffic': {
      // MISP writes ip-src/ip-dst as the ref's type and value; the type only restates the address family.
      const values = terms.filter((t) => /^(src|dst)_ref\.value$/.test(t.path));
      const others = terms.filter((t) => !/^(src|dst)_ref\.(value|type)$/.test(t.path));
      if (values.length !== 1 || others.length) return `unsupported network-traffic comparison ${terms.map((t) => t.path).join(' AND ')}`;
      const ref = values[0]!.path.split('.')[0];
      const types = terms.filter((t) => t.path === `${ref}.type`).map((t) => t.value);
      if (types.some((t) => t !== 'ipv4-addr' && t !== 'ipv6-addr') || terms.some((t) => t.path.endsWith('.type') && !t.path.startsWith(ref!))) return 'network-traffic ref is not an address';
      return address(values[0]!.value, values[0]!.op, types[0]);
    }
    case 'domain-name': {
      if (terms.length !== 1 || terms[0]!.path !== 'value') return `unsupported domain-name comparison ${terms.map((t) => t.path).join(' AND ')}`;
      const d = terms[0]!.value.toLowerCase().replace(/\.$/, '');
      return /^[a-z0-9_*-]+(\.[a-z0-9_-]+)*$/.test(d) && !d.includes('*') ? { kind: 'domain', value: d } : `not a domain name: ${d.slice(0, 64)}`;
    }
    case 'url':
      if (terms.length !== 1 || terms[0]!.path !== 'value') return `unsupported url comparison ${terms.map((t) => t.path).join(' AND ')}`;
      return { kind: 'url', value: normalizeUrl(terms[0]!.value) };
    case 'file': {
      const hashes: Partial<Record<HashAlgo, string>> = {};
      let name: string | undefined;
      for (const t of terms) {
        const h = /^hashes\.(.+)$/.exec(t.path);
        const algo = h ? HASHES[h[1]!.toUpperCase()] : undefined;
        if (algo) {
          if (!HEX.test(t.value) || t.value.length !== HASH_LEN[algo]) return `not a ${algo} hash: ${t.value.slice(0, 140)}`;
          hashes[algo] = t.value.toLowerCase();
        } else if (t.path === 'name') name = t.value;
        else return `file:${t.path} cannot be matched (sensors report MD5, SHA-1, SHA-256 and the name)`;
      }
      if (!Object.keys(hashes).length) return 'file without a supported hash (MD5, SHA-1, SHA-256, SHA-512)';
      return name === undefined ? { kind: 'file', hashes } : { kind: 'file', hashes, name };
    }
    default:
      return `object type ${type} is not matched by this detector`;
  }
}

/** The top-level observations `[ … ]` joined by OR, or why the pattern is refused. */
function observationsOf(pattern: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < pattern.length && /\s/.test(pattern[i]!)) i++;
  };
  skipWs();
  while (i < pattern.length) {
    if (pattern[i] !== '[') return `unsupported pattern syntax near "${pattern.slice(i, i + 40)}"`;
    let depth = 0;
    let quoted = false;
    const start = i;
    for (; i < pattern.length; i++) {
      const ch = pattern[i]!;
      if (quoted && ch === '\\') i++;
      else if (ch === "'") quoted = !quoted;
      else if (!quoted && ch === '[') depth++;
      else if (!quoted && ch === ']' && --depth === 0) break;
    }
    if (depth !== 0) return 'unbalanced brackets';
    out.push(pattern.slice(start + 1, i).trim());
    i++;
    skipWs();
    if (i >= pattern.length) break;
    const or = /^OR\s+/.exec(pattern.slice(i));
    if (!or) return `only OR may join observations (near "${pattern.slice(i, i + 20)}")`;
    i += or[0].length;
  }
  return out.length ? out : 'empty pattern';
}

export function patternObservables(pattern: string): PatternResult {
  const observations = observationsOf(pattern);
  if (typeof observations === 'string') return { ok: false, error: observations };
  const observables: Observable[] = [];
  const dropped: string[] = [];
  for (const obs of observations) {
    for (const disjunct of splitOn(obs, 'OR')) {
      const terms = splitOn(disjunct, 'AND').map(comparison);
      const err = terms.find((t): t is string => typeof t === 'string');
      const o = err ?? conjunction(terms as Comparison[]);
      if (typeof o !== 'string') {
        observables.push(o);
        continue;
      }
      // A lone unmatchable term may be dropped from a disjunction; a conjunction may not be split.
      if (terms.length > 1 && typeof o === 'string' && !err) return { ok: false, error: o };
      dropped.push(o);
    }
  }
  if (!observables.length) return { ok: false, error: dropped.join('; ') || 'empty pattern' };
  return { ok: true, observables, dropped };
}

/** URLs compare without the scheme's and host's case and without a trailing slash on a bare host. */
export function normalizeUrl(u: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(u.trim());
  if (!m) return u.trim();
  const path = m[3] === '/' ? '' : m[3]!;
  return `${m[1]!.toLowerCase()}://${m[2]!.toLowerCase()}${path}`;
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
export const ipPattern = (ip: string): string => `[${ip.includes(':') ? 'ipv6-addr' : 'ipv4-addr'}:value = ${quote(ip)}]`;
