import { createHash } from 'node:crypto';

/** Namespace for this package's own deterministic ids (STIX SDOs, bundles). A fixed random UUID. */
export const SOC_NAMESPACE = '5b1f6d1e-3c0a-4b8e-9f57-2f4c0e9d7a61';
/** The STIX 2.1 namespace for deterministic SCO ids (STIX 2.1 §2.9). */
export const STIX_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** RFC 9562 UUIDv5 (SHA-1, name-based): the same namespace and name always give the same id. */
export function uuidv5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
