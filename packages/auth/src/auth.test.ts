import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthError, ValidationError } from '@soc/errors';
import { TokenVerifier } from '@soc/config';
import { openAtOnce } from '@soc/testkit/cold-open';
import { AuthDb } from './auth-db.ts';
import { SessionAuthorizer, parseCookies, sessionCookie } from './authorizer.ts';
import { hashPassword, verifyPassword } from './password.ts';

const dirs: string[] = [];
const dbPath = () => {
  const d = mkdtempSync(join(tmpdir(), 'soc-auth-'));
  dirs.push(d);
  return join(d, 'auth.db');
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const req = (headers: Record<string, string>, method = 'GET') => ({ headers, method }) as unknown as IncomingMessage;

describe('auth database', () => {
  // Scale-out services share auth.db; started together on a fresh data directory they race to
  // convert it to WAL, and SQLite refused the losers SQLITE_BUSY without waiting.
  it('opens a new file from several processes at once', async () => {
    const script = fileURLToPath(new URL('./testing/cold-open.ts', import.meta.url));
    for (let round = 0; round < 6; round++) {
      const done = await openAtOnce(script, dbPath(), 4, fileURLToPath(new URL('../../..', import.meta.url)));
      expect(done.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    }
  }, 120_000);
});

describe('passwords', () => {
  it('hashes with scrypt and a fresh salt, and verifies', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterx', a)).toBe(false);
    expect(await verifyPassword('x', 'md5$whatever')).toBe(false);
  });
});

describe('users, sessions and lockout', () => {
  it('logs in, locks after five failures, unlocks with a new password', async () => {
    let now = 1_000_000;
    const db = new AuthDb(dbPath(), { now: () => now });
    await db.addUser('alice', 'analyst', 'alice-password-1');
    await expect(db.addUser('alice', 'lead', 'another-password')).rejects.toBeInstanceOf(ValidationError);
    await expect(db.addUser('bob', 'analyst', 'short')).rejects.toThrow(/12 to 256/);
    await expect(db.addUser('bad name', 'analyst', 'long-enough-pass')).rejects.toThrow();
    const { id, session } = await db.login('alice', 'alice-password-1');
    expect(session).toMatchObject({ user: 'alice', role: 'analyst' });
    expect(db.session(id)?.csrf).toBe(session.csrf);
    await expect(db.login('nobody', 'whatever-password')).rejects.toThrow('wrong user name or password');
    for (let i = 0; i < 5; i++) await expect(db.login('alice', 'wrong-password!!')).rejects.toThrow('wrong user name or password');
    await expect(db.login('alice', 'alice-password-1')).rejects.toThrow(/locked until/);
    expect(db.user('alice')?.locked_until).not.toBeNull();
    now += 16 * 60_000;
    await db.login('alice', 'alice-password-1');
    for (let i = 0; i < 5; i++) await expect(db.login('alice', 'wrong-password!!')).rejects.toThrow();
    await db.setPassword('alice', 'alice-password-2');
    expect(db.session(id)).toBeUndefined(); // a new password ends sessions
    await db.login('alice', 'alice-password-2');
    db.close();
  });

  it('expires idle sessions, ends them on logout and when the user is disabled', async () => {
    let now = 0;
    const db = new AuthDb(dbPath(), { now: () => now, idleMs: 1000, absoluteMs: 5000 });
    await db.addUser('carol', 'lead', 'carol-password-1');
    const a = await db.login('carol', 'carol-password-1');
    now = 999;
    expect(db.session(a.id)).toBeDefined();
    now = 2500;
    expect(db.session(a.id)).toBeUndefined();
    const b = await db.login('carol', 'carol-password-1');
    db.logout(b.id);
    expect(db.session(b.id)).toBeUndefined();
    const c = await db.login('carol', 'carol-password-1');
    db.setDisabled('carol', true);
    expect(db.session(c.id)).toBeUndefined();
    await expect(db.login('carol', 'carol-password-1')).rejects.toThrow('wrong user name or password');
    db.close();
  });

  it('stores tokens hashed, and a revoked token stops working', () => {
    const db = new AuthDb(dbPath());
    const { token, info } = db.createToken('edge-sensor', 'sensor');
    expect(token).toMatch(/^soc_s_/);
    expect(db.tokenPrincipal(token)).toEqual({ name: 'edge-sensor', role: 'sensor' });
    expect(JSON.stringify(db.listTokens())).not.toContain(token);
    db.revokeToken(info.id);
    expect(db.tokenPrincipal(token)).toBeUndefined();
    expect(db.listTokens()[0]?.revoked_at).not.toBeNull();
    expect(() => db.revokeToken('tok_none')).toThrow(ValidationError);
    db.close();
  });
});

describe('request authorisation', () => {
  it('accepts bearer tokens and session cookies, demands CSRF on state changes, refuses cross-origin', async () => {
    const db = new AuthDb(dbPath());
    await db.addUser('dave', 'analyst', 'dave-password-1');
    const auth = new SessionAuthorizer(new TokenVerifier([{ name: 'ci', role: 'lead', token: 'soc_l_0123456789abcdefghijklmnop' }]), db);
    const { token } = db.createToken('api', 'analyst');
    expect(auth.authorizeRequest(req({ authorization: 'Bearer soc_l_0123456789abcdefghijklmnop' }), ['analyst'])).toEqual({ name: 'ci', role: 'lead' });
    expect(auth.authorizeRequest(req({ authorization: `Bearer ${token}` }, 'POST'), ['analyst']).name).toBe('api');
    expect(() => auth.authorizeRequest(req({ authorization: 'Bearer nope' }), ['analyst'])).toThrow(AuthError);
    expect(() => auth.authorizeRequest(req({}), ['analyst'])).toThrow(/log in/);

    const { id, session } = await db.login('dave', 'dave-password-1');
    const cookie = parseCookies(sessionCookie(id, 60, false).split(';')[0]).get('soc_session');
    expect(cookie).toBe(id);
    expect(auth.authorizeRequest(req({ cookie: `other=1; soc_session=${id}` }), ['analyst'])).toEqual({ name: 'dave', role: 'analyst' });
    const post = (h: Record<string, string>) => () => auth.authorizeRequest(req({ cookie: `soc_session=${id}`, host: '127.0.0.1:8080', ...h }, 'PATCH'), ['analyst']);
    expect(post({})).toThrow(/CSRF/);
    expect(post({ 'x-csrf-token': 'wrong' })).toThrow(/CSRF/);
    expect(post({ 'x-csrf-token': session.csrf })()).toEqual({ name: 'dave', role: 'analyst' });
    expect(post({ 'x-csrf-token': session.csrf, origin: 'http://evil.example' })).toThrow(/cross-origin/);
    expect(post({ 'x-csrf-token': session.csrf, origin: 'http://127.0.0.1:8080' })()).toEqual({ name: 'dave', role: 'analyst' });
    // Role hierarchy: an analyst session is not a lead.
    expect(() => auth.authorizeRequest(req({ cookie: `soc_session=${id}` }), ['lead'])).toThrow(/may not/);
    expect(sessionCookie(id, 60, false)).toMatch(/HttpOnly; SameSite=Strict/);
    db.close();
  });
});
