import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { Alert, Severity, severityRank } from '@soc/schema';
import { ConfigError } from '@soc/errors';
import { readJsonConfig } from '@soc/config';
import { CidrSet, parseCidr } from '@soc/netaddr';
import type { SocIdentity } from './keys.ts';
import { namedAssets, textPseudonymiser } from './pseudonym.ts';
import { tlpRank } from './tlp.ts';
import { SEEN_BY_PARTNER_FIRST } from './links.ts';

/** Fields a TLP:GREEN/CLEAR alert keeps by default; dotted paths, a prefix keeps the whole subtree. */
export const DEFAULT_FIELD_ALLOW_LIST = [
  'rule.name', 'rule.category', 'message', 'explanation.summary', 'source', 'destination.port',
  'network', 'labels',
] as const;

/** Always kept: without them the alert is not an alert (and the schema would refuse it). */
const ALWAYS_KEPT = ['id', '@timestamp', 'first_seen', 'last_seen', 'detector', 'rule.id', 'score', 'severity', 'count', 'origin', 'tlp'];

/** Structural values that are never free text and must not be rewritten by pseudonymisation. */
const NOT_TEXT = new Set(['id', '@timestamp', 'first_seen', 'last_seen', 'severity', 'tlp', 'status', 'origin', 'related_events', 'detector', 'rule.id', 'count', 'score']);

const CidrString = z.string().refine((s) => parseCidr(s) !== undefined, 'not a CIDR range');

const policyFields = {
  minSeverity: Severity.default('medium'),
  /** Allow-lists; absent means every detector / rule. */
  detectors: z.array(z.string()).optional(),
  rules: z.array(z.string()).optional(),
  /** The most restrictive TLP that may leave. RED cannot be configured: it never leaves. */
  tlpMax: z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT']).default('AMBER'),
  internalCidrs: z.array(CidrString).default([]),
  fieldAllowList: z.array(z.string().min(1)).default([...DEFAULT_FIELD_ALLOW_LIST]),
  relay: z.object({ enabled: z.boolean().default(false), hopLimit: z.number().int().min(0).max(16).default(2) }).default({ enabled: false, hopLimit: 2 }),
};

/** The resolved policy the functions take. The key is a secret: only ever from env or a file. */
export const SharingPolicy = z.object({ ...policyFields, pseudonymKey: z.string().min(32, 'pseudonymKey: at least 32 characters of secret') });
export type SharingPolicy = z.infer<typeof SharingPolicy>;
export type SharingPolicyInput = z.input<typeof SharingPolicy>;

/** The policy file: the key is named by reference, never written in it. */
export const SharingPolicyFile = z.object({
  ...policyFields,
  pseudonymKey: z.union([z.object({ env: z.string().min(1) }), z.object({ file: z.string().min(1) })]),
});

export async function loadSharingPolicy(path: string, env: NodeJS.ProcessEnv = process.env): Promise<SharingPolicy> {
  const file = readJsonConfig(path, SharingPolicyFile, 'sharing policy', 'federation.policy');
  const ref = file.pseudonymKey;
  const secret = 'env' in ref ? env[ref.env] : await readFile(ref.file, 'utf8').catch(() => undefined);
  if (secret === undefined) throw new ConfigError(`pseudonym key not found in ${'env' in ref ? `env ${ref.env}` : ref.file}`, 'federation.policy.pseudonymKey');
  const policy = SharingPolicy.safeParse({ ...file, pseudonymKey: secret.trim() });
  if (!policy.success) throw new ConfigError(z.prettifyError(policy.error), 'federation.policy.pseudonymKey');
  return policy.data;
}

export interface OutboundContext {
  self: SocIdentity;
}

export const OUTBOUND_REASONS = [
  'tlp_red', 'tlp_above_max', 'below_min_severity', 'detector_not_allowed', 'rule_not_allowed',
  'received', 'derived_from_partner', 'tlp_not_relayable', 'loop', 'hop_limit',
] as const;
export type OutboundReason = (typeof OUTBOUND_REASONS)[number];

export type OutboundDecision =
  | { share: false; reason: OutboundReason; message: string }
  /** `originate`: wrap `alert` with createEnvelope. `relay`: forward the stored envelope with relayEnvelope; `alert` is informative. */
  | { share: true; mode: 'originate' | 'relay'; alert: Alert };

const compiledCidrs = new WeakMap<SharingPolicy, CidrSet>();
function internalSet(policy: SharingPolicy): CidrSet {
  let set = compiledCidrs.get(policy);
  if (!set) compiledCidrs.set(policy, (set = new CidrSet(policy.internalCidrs)));
  return set;
}

export const isReceived = (alert: Alert, self: SocIdentity): boolean => alert.federation !== undefined || alert.origin.soc !== self.id;

/** Whether an alert may leave this SOC, and in what form. Pure: same input, same answer. */
export function decideOutbound(alert: Alert, policy: SharingPolicy, ctx: OutboundContext): OutboundDecision {
  const no = (reason: OutboundReason, message: string): OutboundDecision => ({ share: false, reason, message });
  if (alert.tlp === 'RED') return no('tlp_red', 'TLP:RED never leaves the SOC');
  if (tlpRank(alert.tlp) > tlpRank(policy.tlpMax)) return no('tlp_above_max', `TLP:${alert.tlp} is more restrictive than the policy's TLP:${policy.tlpMax}`);
  if (isReceived(alert, ctx.self)) return decideRelay(alert, policy, ctx);
  // Our "seen by partner first" alert retells the partner's report: passing it on to every partner
  // would re-share their information outside what they marked it for.
  if (alert.links?.some((l) => l.type === SEEN_BY_PARTNER_FIRST)) return no('derived_from_partner', 'built from a partner report; it is not ours to share');
  if (severityRank(alert.severity) < severityRank(policy.minSeverity)) return no('below_min_severity', `severity ${alert.severity} is below ${policy.minSeverity}`);
  if (policy.detectors && !policy.detectors.includes(alert.detector)) return no('detector_not_allowed', `detector ${alert.detector} is not in the allow-list`);
  if (policy.rules && !policy.rules.includes(alert.rule.id)) return no('rule_not_allowed', `rule ${alert.rule.id} is not in the allow-list`);
  return { share: true, mode: 'originate', alert: sanitise(alert, policy, ctx.self) };
}

/**
 * A partner's alert goes on only as the partner signed it (a relay cannot re-sanitise without
 * breaking the origin signature), and only where TLP allows recipients to pass it on: CLEAR and
 * GREEN. AMBER is for the recipient's organisation (and clients), so it is never relayed.
 */
function decideRelay(alert: Alert, policy: SharingPolicy, ctx: OutboundContext): OutboundDecision {
  const no = (reason: OutboundReason, message: string): OutboundDecision => ({ share: false, reason, message });
  const fed = alert.federation;
  if (!policy.relay.enabled || !fed) return no('received', `alert came from ${alert.origin.soc}; relaying is off or it has no envelope`);
  if (alert.tlp !== 'CLEAR' && alert.tlp !== 'GREEN') return no('tlp_not_relayable', `TLP:${alert.tlp} may not be passed on to other organisations`);
  if (fed.path.includes(ctx.self.id)) return no('loop', `${ctx.self.id} is already on the path`);
  if (fed.hops >= policy.relay.hopLimit) return no('hop_limit', `${fed.hops} hops already, limit ${policy.relay.hopLimit}`);
  return { share: true, mode: 'relay', alert };
}

/** The alert as it leaves: our origin, no local triage state or links, then TLP-specific reduction. */
export function sanitise(alert: Alert, policy: SharingPolicy, self: SocIdentity): Alert {
  const { federation: _f, links: _l, ...rest } = alert;
  const base: Alert = { ...rest, status: 'new', origin: { soc: self.id, country: self.country, name: self.name } };
  if (alert.tlp === 'AMBER' || alert.tlp === 'AMBER+STRICT') {
    const rewrite = textPseudonymiser(policy.pseudonymKey, internalSet(policy), namedAssets(alert));
    return Alert.parse(mapText(base, rewrite, ''));
  }
  return Alert.parse(pickFields(base, policy.fieldAllowList));
}

function mapText(value: unknown, fn: (s: string) => string, path: string): unknown {
  if (NOT_TEXT.has(path)) return value;
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapText(v, fn, path));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapText(v, fn, path ? `${path}.${k}` : k)]));
  }
  return value;
}

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys.at(-1)!] = value;
}

/** GREEN/CLEAR: only allow-listed fields survive; required text the list drops becomes empty. */
function pickFields(alert: Alert, allow: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { message: '', explanation: { summary: '' }, rule: { name: '' } };
  for (const path of [...ALWAYS_KEPT, ...allow]) {
    const v = getPath(alert, path);
    if (v !== undefined) setPath(out, path, structuredClone(v));
  }
  return out;
}
