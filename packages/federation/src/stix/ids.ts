import { canonicalize } from '../jcs.ts';
import { SOC_NAMESPACE, STIX_NAMESPACE, uuidv5 } from '../uuid.ts';

/**
 * `type--uuid`, the STIX identifier form exactly as the OASIS schema (common/identifier.json)
 * states it: hex digits of either case, versions 1-5, RFC 4122 variant.
 */
export const STIX_ID_RE = /^([a-z][a-z0-9-]+[a-z0-9])--([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$/;

/** SDO ids: UUIDv5 over this package's namespace and a name, so re-exporting gives the same ids. */
export const sdoId = (type: string, name: string): string => `${type}--${uuidv5(SOC_NAMESPACE, `${type}|${name}`)}`;

/** SCO ids per STIX 2.1 §2.9: UUIDv5, STIX namespace, JCS of the ID contributing properties. */
export const scoId = (type: string, contributing: Record<string, unknown>): string => `${type}--${uuidv5(STIX_NAMESPACE, canonicalize(contributing))}`;

/** STIX timestamps: UTC, millisecond precision, `Z`. */
export const stixTime = (iso: string): string => new Date(iso).toISOString();
