import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { readJsonConfig } from '@soc/config';
import { PublicKeyB64, SocIdentity, importPublicKey, keyId } from './keys.ts';

export const TrustedPartner = SocIdentity.extend({
  publicKey: PublicKeyB64,
  /** Accept envelopes this partner forwards on behalf of other SOCs (it is the last relay). */
  allowRelayFrom: z.boolean().default(false),
});
export type TrustedPartner = z.infer<typeof TrustedPartner>;

export const TrustList = z
  .object({ partners: z.array(TrustedPartner) })
  .refine((t) => new Set(t.partners.map((p) => p.id)).size === t.partners.length, { message: 'duplicate partner id' });
export type TrustList = z.infer<typeof TrustList>;
export type TrustListInput = z.input<typeof TrustList>;

export interface TrustedKey extends TrustedPartner {
  key: KeyObject;
  keyId: string;
}

/** The trust list with keys imported once, looked up per message. */
export class TrustStore {
  private readonly byId = new Map<string, TrustedKey>();
  constructor(list: TrustListInput) {
    for (const p of TrustList.parse(list).partners) this.byId.set(p.id, { ...p, key: importPublicKey(p.publicKey), keyId: keyId(p.publicKey) });
  }
  get(id: string): TrustedKey | undefined {
    return this.byId.get(id);
  }
  get size(): number {
    return this.byId.size;
  }
}

export async function loadTrustList(path: string): Promise<TrustList> {
  return readJsonConfig(path, TrustList, 'trust list', 'federation.trustList');
}
