import { normalizeIp } from '@soc/netaddr';

/**
 * The subset of STIX patterning this network exchanges: address equality comparisons joined by
 * OR, inside one observation or across observations:
 *   [ipv4-addr:value = '198.51.100.7' OR ipv6-addr:value = '2001:db8::7'] OR [ipv4-addr:value = '…']
 * Anything else (AND, FOLLOWEDBY, qualifiers, other object types) is refused as a whole, because
 * taking part of a conjunction would match more than the producer meant.
 */
const COMPARISON = /^(ipv4-addr|ipv6-addr):value\s*=\s*'((?:[^'\\]|\\.)*)'$/;

export function ipPatternValues(pattern: string): { ok: true; ips: string[] } | { ok: false; error: string } {
  const observations: string[] = [];
  let rest = pattern.trim();
  while (rest.length > 0) {
    const m = /^\[((?:[^\]'\\]|'(?:[^'\\]|\\.)*')*)\]\s*/.exec(rest);
    if (!m) return { ok: false, error: `unsupported pattern syntax near "${rest.slice(0, 40)}"` };
    observations.push(m[1]!);
    rest = rest.slice(m[0].length);
    if (rest.length === 0) break;
    const or = /^OR\s+/.exec(rest);
    if (!or) return { ok: false, error: `only OR may join observations (near "${rest.slice(0, 20)}")` };
    rest = rest.slice(or[0].length);
  }
  const ips: string[] = [];
  for (const obs of observations) {
    for (const part of splitOr(obs)) {
      const c = COMPARISON.exec(part.trim());
      if (!c) return { ok: false, error: `unsupported comparison "${part.trim().slice(0, 60)}"` };
      const value = c[2]!.replace(/\\(.)/g, '$1');
      // A /32 or /128 is one address; wider ranges are not indicators of one attacker.
      const bare = value.replace(c[1] === 'ipv4-addr' ? /\/32$/ : /\/128$/, '');
      const ip = normalizeIp(bare);
      if (!ip || (c[1] === 'ipv4-addr') !== !ip.includes(':')) return { ok: false, error: `not a single ${c[1]} value: ${value}` };
      ips.push(ip);
    }
  }
  return ips.length ? { ok: true, ips } : { ok: false, error: 'empty pattern' };
}

/** Splits on OR outside quoted strings. */
function splitOr(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && quoted) {
      cur += ch + (s[++i] ?? '');
      continue;
    }
    if (ch === "'") quoted = !quoted;
    if (!quoted && /^\sOR\s/.test(s.slice(i, i + 4))) {
      parts.push(cur);
      cur = '';
      i += 3;
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts;
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
export const ipPattern = (ip: string): string => `[${ip.includes(':') ? 'ipv6-addr' : 'ipv4-addr'}:value = ${quote(ip)}]`;
