import { flowState, type EcsEvent } from '@soc/schema';
import { parseIp } from '@soc/netaddr';

/**
 * What the protocol logs add to the flow evidence, when the sensor writes them (Zeek dns, ssl,
 * x509, http; Suricata dns, tls, http). Conn records alone still work: every context is optional.
 */
export type Context =
  | { kind: 'dns'; ts: number; host: string; query: string; rcode: string; answers: string[] }
  | { kind: 'tls'; ts: number; src: string; dst: string; serverName: string; selfSigned: boolean; invalid: boolean; ja3: string; ja4: string }
  | { kind: 'http'; ts: number; src: string; dst: string; hostHeader: string; directIp: boolean; userAgent: string };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** An address literal, with or without a port or IPv6 brackets. */
export function isIpLiteral(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return h !== '' && parseIp(h) !== undefined;
}

/** The context an event carries, or null (a flow, or a protocol record without what we use). */
export function contextFromEvent(e: EcsEvent): Context | null {
  const ts = Date.parse(e['@timestamp']) / 1000;
  const src = e.source?.ip;
  const dst = e.destination?.ip;
  if (!Number.isFinite(ts) || !src || flowState(e)) return null;
  if (e.dns) {
    const d = obj(e.dns);
    const answers = Array.isArray(d.answers) ? d.answers.map((a) => str(obj(a).data)).filter((a) => parseIp(a) !== undefined) : [];
    const rcode = str(d.response_code).toUpperCase();
    if (!answers.length && !rcode) return null;
    return { kind: 'dns', ts, host: src, query: str(obj(d.question).name).toLowerCase(), rcode, answers };
  }
  if (e.tls && dst) {
    const t = obj(e.tls);
    const server = obj(t.server);
    const subject = str(server.subject) || str(obj(obj(server.x509).subject).distinguished_name);
    const issuer = str(server.issuer) || str(obj(obj(server.x509).issuer).distinguished_name);
    const validation = str(obj(e.zeek).ssl && obj(obj(e.zeek).ssl).validation_status);
    return {
      kind: 'tls', ts, src, dst,
      serverName: str(obj(t.client).server_name),
      selfSigned: subject !== '' && subject === issuer,
      invalid: validation !== '' && validation !== 'ok',
      ja3: str(obj(t.client).ja3),
      // JA4 (FoxIO) where the sensor's plugin writes it; not an ECS field yet, read under tls.client.
      ja4: str(obj(t.client).ja4),
    };
  }
  if (e.http && dst) {
    const hostHeader = str(e.url && obj(e.url).domain);
    return { kind: 'http', ts, src, dst, hostHeader, directIp: hostHeader !== '' && isIpLiteral(hostHeader), userAgent: str(e.user_agent && obj(e.user_agent).original) };
  }
  return null;
}
