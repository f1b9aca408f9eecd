import { createHmac } from 'node:crypto';
import type { Alert } from '@soc/schema';
import { CidrSet, normalizeIp, parseIp } from '@soc/netaddr';

/**
 * Keyed pseudonyms for internal assets (TLP:AMBER sharing). HMAC-SHA256 under the SOC's secret:
 * the same asset always gets the same pseudonym, so partners can correlate repeated sightings,
 * but without the key nobody can test a guess. Not IP-shaped on purpose: a fake address could be
 * mistaken for a real one and blocked or matched.
 */
export type AssetKind = 'ip' | 'host' | 'user';

export const PSEUDONYM_RE = /^pseudo-[0-9a-f]{16}$/;

export function pseudonym(key: string | Buffer, kind: AssetKind, value: string): string {
  const canonical = kind === 'ip' ? (normalizeIp(value) ?? value) : value.toLowerCase();
  return `pseudo-${createHmac('sha256', key).update(`${kind}:${canonical}`).digest('hex').slice(0, 16)}`;
}

const HOST_KEY = /(^|[._-])(host|hostname|host_name|host\.name|computer)$/i;
const USER_KEY = /(^|[._-])(user|username|user_name|user\.name|account)$/i;
// Candidates only; parseIp decides. IPv6 first (it may end in a dotted quad), with two colons at
// least so "10:01" is not one; IPv4 may be followed by ":port" or a full stop.
const IPV6_CANDIDATE = /(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\d{1,3}(?:\.\d{1,3}){3})?(?![\w:.])/g;
const IPV4_CANDIDATE = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)/g;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Named assets (hosts, users) the alert itself tells us about, from its fields and keyed values. */
export function namedAssets(alert: Alert): { kind: AssetKind; value: string }[] {
  const found: { kind: AssetKind; value: string }[] = [];
  if (alert.host?.name) found.push({ kind: 'host', value: alert.host.name });
  const keyed = { ...alert.explanation.values, ...alert.labels };
  for (const [k, v] of Object.entries(keyed)) {
    if (typeof v !== 'string' || v === '') continue;
    if (HOST_KEY.test(k)) found.push({ kind: 'host', value: v });
    else if (USER_KEY.test(k)) found.push({ kind: 'user', value: v });
  }
  return found;
}

/**
 * Returns a function that rewrites any text: internal IP literals (anywhere, field or free text)
 * and the named assets become pseudonyms; external addresses are left alone.
 */
export function textPseudonymiser(key: string | Buffer, internal: CidrSet, assets: { kind: AssetKind; value: string }[]): (s: string) => string {
  // Longest first so "ws-12.corp" is replaced before "ws-12".
  const named = [...new Map(assets.map((a) => [a.value.toLowerCase(), a])).values()].sort((a, b) => b.value.length - a.value.length);
  const namedRe = named.map((a) => ({ re: new RegExp(`(?<![\\w.-])${escapeRe(a.value)}(?![\\w-])`, 'gi'), to: pseudonym(key, a.kind, a.value) }));
  return (s) => {
    const ipRewrite = (m: string): string => {
      const ip = parseIp(m);
      return ip && internal.contains(ip) ? pseudonym(key, 'ip', m) : m;
    };
    let out = s.replace(IPV6_CANDIDATE, ipRewrite).replace(IPV4_CANDIDATE, ipRewrite);
    for (const { re, to } of namedRe) out = out.replace(re, to);
    return out;
  };
}
