import { randomBytes, timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { AuthError, ValidationError, SQLITE_OPEN_RETRY, retrySync } from '@soc/errors';
import { Role, newToken, sha256, type Principal } from '@soc/config';
import { DUMMY_HASH, PASSWORD_RULE, hashPassword, verifyPassword } from './password.ts';

/**
 * Console users, their sessions, and API/sensor tokens, in one SQLite file in the data
 * directory (`auth.db`), shared by the running services and the `soc users|tokens` commands.
 * Only hashes are stored: scrypt for passwords, SHA-256 for session ids and tokens (random
 * 256-bit secrets, so a fast hash is enough).
 */

export const USER_ROLES = ['analyst', 'lead', 'admin'] as const;
export const UserRole = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRole>;
export const UserName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'letters, digits, . _ @ - (max 64)');

export interface User {
  name: string;
  role: UserRole;
  disabled: boolean;
  created_at: string;
  locked_until: string | null;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  revoked_at: string | null;
}

export interface Session {
  user: string;
  role: UserRole;
  csrf: string;
  expires_at: string;
}

export interface AuthOptions {
  /** Consecutive failed logins before the account locks. Default 5. */
  maxFailures?: number;
  lockoutMs?: number;
  /** A session ends after this long without a request. Default 8 h. */
  idleMs?: number;
  /** And at the latest this long after login. Default 12 h. */
  absoluteMs?: number;
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users (name),
  csrf TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  seen_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
);
`;

const iso = (ms: number) => new Date(ms).toISOString();

export class AuthDb {
  private readonly db: Database.Database;
  private readonly maxFailures: number;
  private readonly lockoutMs: number;
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly now: () => number;

  constructor(path: string, o: AuthOptions = {}) {
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    // Services started together on a fresh data directory (scale-out containers share auth.db)
    // race to convert it to WAL; SQLite refuses the losers SQLITE_BUSY without waiting.
    retrySync(() => this.db.pragma('journal_mode = WAL'), SQLITE_OPEN_RETRY);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.maxFailures = o.maxFailures ?? 5;
    this.lockoutMs = o.lockoutMs ?? 15 * 60_000;
    this.idleMs = o.idleMs ?? 8 * 3_600_000;
    this.absoluteMs = o.absoluteMs ?? 12 * 3_600_000;
    this.now = o.now ?? Date.now;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------ users

  hasUsers(): boolean {
    return this.db.prepare('SELECT 1 FROM users LIMIT 1').get() !== undefined;
  }

  async addUser(name: string, role: UserRole, password: string): Promise<User> {
    checkName(name);
    if (!UserRole.safeParse(role).success) throw new ValidationError(`a user's role is one of ${USER_ROLES.join(', ')}`);
    checkPassword(password);
    const hash = await hashPassword(password);
    try {
      this.db.prepare('INSERT INTO users (name, role, hash, created_ms) VALUES (?, ?, ?, ?)').run(name, role, hash, this.now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ValidationError(`user ${name} already exists`);
      throw err;
    }
    return this.user(name)!;
  }

  user(name: string): User | undefined {
    const r = this.db.prepare('SELECT name, role, disabled, created_ms, locked_until_ms FROM users WHERE name = ?').get(name) as
      | { name: string; role: UserRole; disabled: number; created_ms: number; locked_until_ms: number }
      | undefined;
    return r && { name: r.name, role: r.role, disabled: r.disabled === 1, created_at: iso(r.created_ms), locked_until: r.locked_until_ms > this.now() ? iso(r.locked_until_ms) : null };
  }

  listUsers(): User[] {
    const names = this.db.prepare('SELECT name FROM users ORDER BY name').all() as { name: string }[];
    return names.map((n) => this.user(n.name)!);
  }

  /** Disabling also ends the user's sessions. */
  setDisabled(name: string, disabled: boolean): User {
    const r = this.db.prepare('UPDATE users SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name);
    if (r.changes === 0) throw new ValidationError(`no user ${name}`);
    if (disabled) this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
    return this.user(name)!;
  }

  /** A new password also unlocks the account and ends its sessions. */
  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const hash = await hashPassword(password);
    const r = this.db.prepare('UPDATE users SET hash = ?, failures = 0, locked_until_ms = 0 WHERE name = ?').run(hash, name);
    if (r.changes === 0) throw new ValidationError(`no user ${name}`);
    this.db.prepare('DELETE FROM sessions WHERE user = ?').run(name);
  }

  setRole(name: string, role: UserRole): User {
    if (!UserRole.safeParse(role).success) throw new ValidationError(`a user's role is one of ${USER_ROLES.join(', ')}`);
    const r = this.db.prepare('UPDATE users SET role = ? WHERE name = ?').run(role, name);
    if (r.changes === 0) throw new ValidationError(`no user ${name}`);
    return this.user(name)!;
  }

  // ------------------------------------------------------------ sessions

  /**
   * Checks the password and opens a session: the id goes in the cookie, the CSRF token to the
   * page. One message for every failure, so it does not tell which users exist; after
   * `maxFailures` consecutive failures the account locks for `lockoutMs`.
   */
  async login(name: string, password: string): Promise<{ id: string; session: Session }> {
    const row = this.db.prepare('SELECT name, role, hash, disabled, locked_until_ms FROM users WHERE name = ?').get(name) as
      | { name: string; role: UserRole; hash: string; disabled: number; locked_until_ms: number }
      | undefined;
    const ok = await verifyPassword(password, row?.hash ?? DUMMY_HASH);
    const t = this.now();
    if (row && row.locked_until_ms > t) throw new AuthError(`account locked until ${iso(row.locked_until_ms)} after repeated failures`, 401);
    if (!row || !ok || row.disabled === 1) {
      if (row && !ok) {
        const { failures } = this.db.prepare('UPDATE users SET failures = failures + 1 WHERE name = ? RETURNING failures').get(name) as { failures: number };
        if (failures >= this.maxFailures) this.db.prepare('UPDATE users SET failures = 0, locked_until_ms = ? WHERE name = ?').run(t + this.lockoutMs, name);
      }
      throw new AuthError('wrong user name or password', 401);
    }
    this.db.prepare('UPDATE users SET failures = 0 WHERE name = ?').run(name);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.db.prepare('DELETE FROM sessions WHERE seen_ms < ? OR created_ms < ?').run(t - this.idleMs, t - this.absoluteMs);
    this.db.prepare('INSERT INTO sessions (id_hash, user, csrf, created_ms, seen_ms) VALUES (?, ?, ?, ?, ?)').run(sha256(id), name, csrf, t, t);
    return { id, session: { user: name, role: row.role, csrf, expires_at: iso(Math.min(t + this.idleMs, t + this.absoluteMs)) } };
  }

  /** The live session of a cookie value (and refreshes its idle timer), or undefined. */
  session(id: string): Session | undefined {
    const t = this.now();
    const r = this.db
      .prepare('SELECT s.user, s.csrf, s.created_ms, s.seen_ms, u.role, u.disabled FROM sessions s JOIN users u ON u.name = s.user WHERE s.id_hash = ?')
      .get(sha256(id)) as { user: string; csrf: string; created_ms: number; seen_ms: number; role: UserRole; disabled: number } | undefined;
    if (!r || r.disabled === 1 || r.seen_ms < t - this.idleMs || r.created_ms < t - this.absoluteMs) return undefined;
    // Written at most once a minute: reads stay reads.
    if (t - r.seen_ms > 60_000) this.db.prepare('UPDATE sessions SET seen_ms = ? WHERE id_hash = ?').run(t, sha256(id));
    return { user: r.user, role: r.role, csrf: r.csrf, expires_at: iso(Math.min(t + this.idleMs, r.created_ms + this.absoluteMs)) };
  }

  logout(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(sha256(id));
  }

  // ------------------------------------------------------------ tokens

  /** A new API or sensor token; the secret is returned once and only its hash is kept. */
  createToken(name: string, role: Role): { token: string; info: TokenInfo } {
    checkName(name);
    if (!Role.safeParse(role).success) throw new ValidationError(`a token's role is one of ${Role.options.join(', ')}`);
    const token = newToken(role);
    const id = `tok_${randomBytes(6).toString('hex')}`;
    this.db.prepare('INSERT INTO tokens (id, name, role, hash, created_ms) VALUES (?, ?, ?, ?, ?)').run(id, name, role, sha256(token), this.now());
    return { token, info: this.listTokens().find((t) => t.id === id)! };
  }

  listTokens(): TokenInfo[] {
    const rows = this.db.prepare('SELECT id, name, role, created_ms, revoked_ms FROM tokens ORDER BY created_ms, id').all() as {
      id: string;
      name: string;
      role: Role;
      created_ms: number;
      revoked_ms: number | null;
    }[];
    return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, created_at: iso(r.created_ms), revoked_at: r.revoked_ms === null ? null : iso(r.revoked_ms) }));
  }

  revokeToken(id: string): TokenInfo {
    const r = this.db.prepare('UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL').run(this.now(), id);
    if (r.changes === 0 && !this.listTokens().some((t) => t.id === id)) throw new ValidationError(`no token ${id}`);
    return this.listTokens().find((t) => t.id === id)!;
  }

  /** The principal of a live token, or undefined. */
  tokenPrincipal(token: string): Principal | undefined {
    const r = this.db.prepare('SELECT name, role FROM tokens WHERE hash = ? AND revoked_ms IS NULL').get(sha256(token)) as { name: string; role: Role } | undefined;
    return r && { name: r.name, role: r.role };
  }
}

function checkName(name: string): void {
  const r = UserName.safeParse(name);
  if (!r.success) throw new ValidationError(`bad name ${JSON.stringify(name.slice(0, 80))}: ${r.error.issues[0]?.message}`);
}

function checkPassword(p: string): void {
  if (p.length < PASSWORD_RULE.min || p.length > PASSWORD_RULE.max) throw new ValidationError(`a password has ${PASSWORD_RULE.min} to ${PASSWORD_RULE.max} characters`);
}

/** Constant-time comparison of two strings (CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
