import { randomUUID, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { Alert, Tlp } from '@soc/schema';
import { ValidationError } from '@soc/errors';
import { canonicalBytes } from './jcs.ts';
import { SocIdentity, importPrivateKey, keyIdOf, signBytes } from './keys.ts';

/**
 * What travels on the federation topic. Two kinds of signature, both Ed25519 over RFC 8785 JCS:
 *
 * - `signature`, by the origin, over the immutable part {v, origin, message_id, timestamp, tlp,
 *   payload}: nobody on the way can change what was said, or who said it, or when.
 * - `relays[i]`, by the i-th relaying SOC, over {message_id, origin_id, by, hops, path, prev},
 *   `prev` being the previous signature value, so the relay chain cannot be reordered or spliced.
 *
 * `hops` (number of relays) and `path` (origin id, then each relay's id) are not free fields: they
 * must equal what the relay chain implies, which verifyInbound checks.
 */
export const ORIGIN_CONTEXT = 'soc-federation/v1/origin';
export const RELAY_CONTEXT = 'soc-federation/v1/relay';

const B64Sig = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'base64 Ed25519 signature');
const KeyIdStr = z.string().regex(/^[0-9a-f]{16}$/);

export const RelayEntry = z.object({ by: z.string().min(1).max(64), key_id: KeyIdStr, value: B64Sig });
export type RelayEntry = z.infer<typeof RelayEntry>;

export const Envelope = z.object({
  v: z.literal(1),
  origin: SocIdentity,
  message_id: z.uuid(),
  timestamp: z.iso.datetime({ offset: true }),
  tlp: Tlp,
  hops: z.number().int().min(0),
  path: z.array(z.string().min(1).max(64)).min(1).max(64),
  payload: Alert,
  signature: z.object({ alg: z.literal('Ed25519'), key_id: KeyIdStr, value: B64Sig }),
  relays: z.array(RelayEntry).max(64).default([]),
});
export type Envelope = z.infer<typeof Envelope>;

/** The bytes the origin signs; computed from the raw (unparsed) object on receipt. */
export function originSigningBytes(e: Pick<Envelope, 'v' | 'origin' | 'message_id' | 'timestamp' | 'tlp' | 'payload'>): Buffer {
  return canonicalBytes({ ctx: ORIGIN_CONTEXT, v: e.v, origin: e.origin, message_id: e.message_id, timestamp: e.timestamp, tlp: e.tlp, payload: e.payload });
}

export function relaySigningBytes(p: { message_id: string; origin_id: string; by: string; hops: number; path: string[]; prev: string }): Buffer {
  return canonicalBytes({ ctx: RELAY_CONTEXT, ...p });
}

export interface Signer {
  identity: SocIdentity;
  /** PKCS#8 PEM or an imported key. */
  privateKey: string | KeyObject;
}

/**
 * Wraps an alert that decideOutbound let out. TLP:RED is refused here as well: the policy is the
 * gate, this is the belt and braces.
 */
export function createEnvelope(alert: Alert, signer: Signer, opts: { now?: Date; messageId?: string } = {}): Envelope {
  const payload = Alert.parse(alert);
  if (payload.tlp === 'RED') throw new ValidationError('TLP:RED alerts never leave the SOC');
  if (payload.origin.soc !== signer.identity.id) throw new ValidationError(`alert origin ${payload.origin.soc} is not the signer ${signer.identity.id}`);
  const key = importPrivateKey(signer.privateKey);
  const body = {
    v: 1 as const,
    origin: SocIdentity.parse(signer.identity),
    message_id: opts.messageId ?? randomUUID(),
    timestamp: (opts.now ?? new Date()).toISOString(),
    tlp: payload.tlp,
    payload,
  };
  return { ...body, hops: 0, path: [body.origin.id], signature: { alg: 'Ed25519', key_id: keyIdOf(key), value: signBytes(originSigningBytes(body), key) }, relays: [] };
}

/** Forwards a verified envelope one hop further, appending this SOC's relay signature. */
export function relayEnvelope(envelope: Envelope, signer: Signer): Envelope {
  const key = importPrivateKey(signer.privateKey);
  const by = signer.identity.id;
  const hops = envelope.hops + 1;
  const path = [...envelope.path, by];
  const prev = envelope.relays.at(-1)?.value ?? envelope.signature.value;
  const value = signBytes(relaySigningBytes({ message_id: envelope.message_id, origin_id: envelope.origin.id, by, hops, path, prev }), key);
  return { ...envelope, hops, path, relays: [...envelope.relays, { by, key_id: keyIdOf(key), value }] };
}
