import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ValidationError } from '@soc/errors';

/**
 * Ed25519 keys. Public keys travel as base64 of the raw 32-byte key (compact in trust-list files,
 * the same form as RFC 8037 JWK `x` but with the standard alphabet); private keys as PKCS#8 PEM.
 */
export const SocIdentity = z.object({
  id: z.string().min(1).max(64),
  /** ISO 3166-1 alpha-2. */
  country: z.string().regex(/^[A-Z]{2}$/),
  name: z.string().min(1).max(256),
});
export type SocIdentity = z.infer<typeof SocIdentity>;

export const PublicKeyB64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of a raw 32-byte Ed25519 public key');

export interface KeyPair {
  publicKey: string;
  privateKey: string;
}

export function generateKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: exportPublicKey(publicKey), privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function exportPublicKey(key: KeyObject): string {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new ValidationError('not an Ed25519 public key');
  return Buffer.from(x, 'base64url').toString('base64');
}

export function importPublicKey(b64: string): KeyObject {
  const raw = Buffer.from(PublicKeyB64.parse(b64), 'base64');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function importPrivateKey(pem: string | KeyObject): KeyObject {
  const key = typeof pem === 'string' ? createPrivateKey(pem) : pem;
  if (key.asymmetricKeyType !== 'ed25519') throw new ValidationError('federation keys must be Ed25519');
  return key;
}

/** A short, stable name for a public key: first 16 hex of SHA-256 over the raw key. */
export const keyId = (publicKeyB64: string): string =>
  createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex').slice(0, 16);

const keyIds = new WeakMap<KeyObject, string>();
/** The key id of a private key's public half; cached, signing calls it per message. */
export function keyIdOf(privateKey: KeyObject): string {
  let id = keyIds.get(privateKey);
  if (id === undefined) keyIds.set(privateKey, (id = keyId(exportPublicKey(createPublicKey(privateKey)))));
  return id;
}

export const signBytes = (data: Buffer, privateKey: KeyObject): string => sign(null, data, privateKey).toString('base64');

export function verifyBytes(data: Buffer, signatureB64: string, publicKey: KeyObject): boolean {
  const sig = Buffer.from(signatureB64, 'base64');
  return sig.length === 64 && verify(null, data, publicKey, sig);
}

export const KEY_FILES = { privateKey: 'federation.key', publicKey: 'federation.pub' } as const;

/**
 * For `pnpm soc keygen`: writes `federation.key` (PKCS#8 PEM, mode 0600) and `federation.pub`
 * (base64 raw key, to hand to partners). Refuses to replace an existing key unless told to:
 * losing a private key silently breaks every partner's trust list.
 */
export async function writeKeyFiles(dir: string, opts: { overwrite?: boolean } = {}): Promise<{ publicKey: string; keyId: string; privateKeyPath: string; publicKeyPath: string }> {
  const pair = generateKeyPair();
  await mkdir(dir, { recursive: true });
  const flag = opts.overwrite ? 'w' : 'wx';
  const privateKeyPath = join(dir, KEY_FILES.privateKey);
  const publicKeyPath = join(dir, KEY_FILES.publicKey);
  await writeFile(privateKeyPath, pair.privateKey, { mode: 0o600, flag });
  await chmod(privateKeyPath, 0o600); // the mode above is masked by umask and ignored when overwriting
  await writeFile(publicKeyPath, `${pair.publicKey}\n`, { mode: 0o644, flag });
  return { publicKey: pair.publicKey, keyId: keyId(pair.publicKey), privateKeyPath, publicKeyPath };
}
