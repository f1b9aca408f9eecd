import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AuthError, ConfigError } from '@soc/errors';
import { readJsonConfig } from './json-file.ts';

/**
 * API tokens and roles. Sensors push events; analysts read and triage alerts; leads also
 * reopen, reassign and close; admins also manage users; partners (other SOCs, threat
 * intelligence platforms) read this SOC's TAXII collections and add to its inbox, under their
 * credential's name. A sensor cannot do an analyst's job nor the reverse. Tokens are bearer
 * secrets kept in `credentials.json` (mode 0600) in the data directory or supplied by the
 * environment; in memory only their SHA-256 is kept.
 */
export const Role = z.enum(['analyst', 'lead', 'admin', 'sensor', 'partner']);
export type Role = z.infer<typeof Role>;

/** What each role may also act as: lead ⊇ analyst, admin ⊇ lead. */
const IMPLIES: Record<Role, readonly Role[]> = { sensor: ['sensor'], partner: ['partner'], analyst: ['analyst'], lead: ['lead', 'analyst'], admin: ['admin', 'lead', 'analyst'] };

export const roleAllows = (role: Role, allowed: readonly Role[]): boolean => IMPLIES[role].some((r) => allowed.includes(r));

/** The initial console user; its generated password lives in credentials.json until changed. */
export const InitialUser = z.object({ name: z.string().min(1).max(128), role: z.literal('admin'), password: z.string().min(12).max(256) });
export type InitialUser = z.infer<typeof InitialUser>;

export const Credential = z.object({ name: z.string().min(1).max(128), role: Role, token: z.string().min(24).max(256) });
export type Credential = z.infer<typeof Credential>;
export const CredentialsFile = z.object({ version: z.literal(1), credentials: z.array(Credential).min(1), users: z.array(InitialUser).optional() });
type CredentialsFile = z.infer<typeof CredentialsFile>;

export interface Principal {
  name: string;
  role: Role;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export const bearerToken = (authorization: string | undefined): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];

const TOKEN_PREFIX: Record<Role, string> = { analyst: 'a', lead: 'l', admin: 'x', sensor: 's', partner: 'p' };
export const newToken = (role: Role): string => `soc_${TOKEN_PREFIX[role]}_${randomBytes(32).toString('base64url')}`;

export const newPassword = (): string => randomBytes(18).toString('base64url');

export const CREDENTIALS_FILE = 'credentials.json';

/**
 * Loads DIR/credentials.json, creating it on first start with one analyst and one sensor token
 * and the initial `admin` console user with a generated password (a file from before console
 * users gets the admin added). Returns the file's path and whether it was just created.
 */
export function ensureCredentials(dataDir: string): { path: string; created: boolean; credentials: Credential[]; users: InitialUser[] } {
  const path = join(dataDir, CREDENTIALS_FILE);
  const admin = (): InitialUser[] => [{ name: 'admin', role: 'admin', password: newPassword() }];
  if (existsSync(path)) {
    const file = readCredentialsFile(path);
    const users = file.users ?? admin();
    if (file.users === undefined) writeCredentials(path, { ...file, users });
    return { path, created: false, credentials: file.credentials, users };
  }
  const credentials: Credential[] = [
    { name: 'analyst', role: 'analyst', token: newToken('analyst') },
    { name: 'sensor', role: 'sensor', token: newToken('sensor') },
  ];
  const users = admin();
  writeCredentials(path, { version: 1, credentials, users });
  return { path, created: true, credentials, users };
}

function writeCredentials(path: string, file: CredentialsFile): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

const readCredentialsFile = (path: string): CredentialsFile => readJsonConfig(path, CredentialsFile, 'credentials file', 'credentials');

export function readCredentials(path: string): Credential[] {
  return readCredentialsFile(path).credentials;
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
  /** The principal of a bearer token, or undefined when the token is unknown. */
  lookup(token: string): Principal | undefined {
    // Hashing first makes the map lookup independent of how much of a guess matches.
    return this.byHash.get(sha256(token));
  }

  authorize(authorization: string | undefined, allowed: readonly Role[]): Principal {
    const token = bearerToken(authorization);
    if (!token) throw new AuthError('missing bearer token', 401);
    const p = this.lookup(token);
    if (!p) throw new AuthError('invalid token', 401);
    if (!roleAllows(p.role, allowed)) throw new AuthError(`role ${p.role} may not do this`, 403);
    return p;
  }
}
