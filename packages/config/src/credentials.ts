import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuthError, ConfigError } from '@soc/errors';
import { readJsonConfig } from './json-file.ts';

/**
 * API tokens. Sensors push events; analysts read and triage alerts; partners (other SOCs, threat
 * intelligence platforms) read this SOC's TAXII collections and add to its inbox, under their
 * credential's name. None can do another's job. Tokens are bearer secrets kept in `credentials.json` (mode 0600) in the data directory or
 * supplied by the environment; in memory only their SHA-256 is kept.
 */
export const Role = z.enum(['analyst', 'sensor', 'partner']);
export type Role = z.infer<typeof Role>;

export const Credential = z.object({ name: z.string().min(1).max(128), role: Role, token: z.string().min(24).max(256) });
export type Credential = z.infer<typeof Credential>;
export const CredentialsFile = z.object({ version: z.literal(1), credentials: z.array(Credential).min(1) });

export interface Principal {
  name: string;
  role: Role;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export const newToken = (role: Role): string => `soc_${role[0]}_${randomBytes(32).toString('base64url')}`;

export const CREDENTIALS_FILE = 'credentials.json';

/**
 * Loads DIR/credentials.json, creating it with one analyst and one sensor token on first start.
 * Returns the file's path and whether it was just created.
 */
export function ensureCredentials(dataDir: string): { path: string; created: boolean; credentials: Credential[] } {
  const path = join(dataDir, CREDENTIALS_FILE);
  if (existsSync(path)) return { path, created: false, credentials: readCredentials(path) };
  const credentials: Credential[] = [
    { name: 'analyst', role: 'analyst', token: newToken('analyst') },
    { name: 'sensor', role: 'sensor', token: newToken('sensor') },
  ];
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, credentials }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { path, created: true, credentials };
}

export function readCredentials(path: string): Credential[] {
  return readJsonConfig(path, CredentialsFile, 'credentials file', 'credentials').credentials;
}

/** Tokens from the environment: SOC_ANALYST_TOKENS / SOC_SENSOR_TOKENS / SOC_PARTNER_TOKENS, comma-separated. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): Credential[] {
  const out: Credential[] = [];
  for (const role of Role.options) {
    const list = env[`SOC_${role.toUpperCase()}_TOKENS`];
    if (!list) continue;
    list.split(',').map((t) => t.trim()).filter(Boolean).forEach((token, i) => {
      const c = Credential.safeParse({ name: `${role}-env-${i + 1}`, role, token });
      if (!c.success) throw new ConfigError(`SOC_${role.toUpperCase()}_TOKENS: token ${i + 1} is invalid (at least 24 characters)`, 'credentials');
      out.push(c.data);
    });
  }
  return out;
}

export class TokenVerifier {
  private readonly byHash = new Map<string, Principal>();

  constructor(credentials: Credential[]) {
    for (const c of credentials) this.byHash.set(sha256(c.token), { name: c.name, role: c.role });
  }

  /** Throws AuthError 401 without a valid bearer token, 403 when its role is not allowed. */
  authorize(authorization: string | undefined, allowed: readonly Role[]): Principal {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new AuthError('missing bearer token', 401);
    // Hashing first makes the map lookup independent of how much of a guess matches.
    const p = this.byHash.get(sha256(m[1]!));
    if (!p) throw new AuthError('invalid token', 401);
    if (!allowed.includes(p.role)) throw new AuthError(`role ${p.role} may not do this`, 403);
    return p;
  }
}
