import { createPrivateKey } from 'node:crypto';
import { Alert, alertId, type AlertInput } from '@soc/schema';
import { SharingPolicy, TrustStore, generateKeyPair, keyId, type KeyPair, type SharingPolicyInput, type SocIdentity } from '@soc/federation';
import { CidrSet } from '@soc/netaddr';
import type { FederationContext } from './context.ts';

/** Test fixtures for the handler tests: member SOCs with fresh keys, one trust list. */
export const SOCS = {
  ee: { id: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' },
  lv: { id: 'soc-lv', country: 'LV', name: 'CERT.LV SOC' },
  lt: { id: 'soc-lt', country: 'LT', name: 'NKSC SOC' },
} satisfies Record<string, SocIdentity>;

export function federationOf(ids: SocIdentity[], policy: Partial<SharingPolicyInput> = {}): { ctx: (self: SocIdentity) => FederationContext; keys: Map<string, KeyPair> } {
  const keys = new Map(ids.map((s) => [s.id, generateKeyPair()]));
  const trust = new TrustStore({ partners: ids.map((s) => ({ ...s, publicKey: keys.get(s.id)!.publicKey, allowRelayFrom: true })) });
  const p = SharingPolicy.parse({ pseudonymKey: 'k'.repeat(40), internalCidrs: ['10.0.0.0/8'], ...policy });
  return {
    keys,
    ctx: (self) => ({ self, signer: { identity: self, privateKey: createPrivateKey(keys.get(self.id)!.privateKey) }, keyId: keyId(keys.get(self.id)!.publicKey), trust, policy: p, internal: new CidrSet(p.internalCidrs) }),
  };
}

export function localAlert(self: SocIdentity, overrides: Partial<AlertInput> = {}): Alert {
  return Alert.parse({
    id: alertId('suricata', '2001219', `${self.id}|${overrides.message ?? 'x'}`),
    '@timestamp': '2026-03-01T10:00:00.000Z',
    first_seen: '2026-03-01T10:00:00.000Z',
    last_seen: '2026-03-01T10:00:00.000Z',
    detector: 'suricata',
    rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan' },
    score: 0.6,
    severity: 'medium',
    message: 'scan of 10.0.0.5:22 from 203.0.113.9',
    explanation: { summary: '203.0.113.9 -> 10.0.0.5:22' },
    source: { ip: '203.0.113.9', port: 40000 },
    destination: { ip: '10.0.0.5', port: 22 },
    origin: { soc: self.id, country: self.country, name: self.name },
    tlp: 'AMBER',
    ...overrides,
  });
}
