import type { IncomingMessage } from 'node:http';
import { AuthError } from '@soc/errors';
import { bearerToken, roleAllows, type Principal, type Role, type TokenVerifier } from '@soc/config';
import { sameSecret, type AuthDb } from './auth-db.ts';

/**
 * Who is calling: a bearer token (API clients and sensors; from credentials.json, the
 * environment or `soc tokens`) or a console session cookie. A cookie is ambient — the browser
 * sends it on its own — so every state change made with one must also carry the session's CSRF
 * token in `X-CSRF-Token`, and a cross-origin `Origin` is refused outright.
 */

export const SESSION_COOKIE = 'soc_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!out.has(k)) out.set(k, part.slice(i + 1).trim());
  }
  return out;
}

/** HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const clearedSessionCookie = (secure: boolean) => sessionCookie('', 0, secure);

export const sessionIdOf = (req: IncomingMessage): string | undefined => parseCookies(req.headers.cookie).get(SESSION_COOKIE) || undefined;

export class SessionAuthorizer {
  constructor(
    private readonly tokens: TokenVerifier,
    private readonly db: AuthDb,
  ) {}

  authorizeRequest(req: IncomingMessage, allowed: readonly Role[]): Principal {
    const p = this.principal(req);
    if (!roleAllows(p.role, allowed)) throw new AuthError(`role ${p.role} may not do this`, 403);
    return p;
  }

  private principal(req: IncomingMessage): Principal {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const token = bearerToken(authorization);
      const p = token === undefined ? undefined : (this.tokens.lookup(token) ?? this.db.tokenPrincipal(token));
      if (!p) throw new AuthError(token === undefined ? 'malformed Authorization header (Bearer TOKEN)' : 'invalid token', 401);
      return p;
    }
    const id = sessionIdOf(req);
    if (id === undefined) throw new AuthError('log in or send a bearer token', 401);
    const s = this.db.session(id);
    if (!s) throw new AuthError('session expired; log in again', 401);
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null' && !sameOrigin(origin, req.headers.host)) throw new AuthError('cross-origin request refused', 403);
      const csrf = req.headers[CSRF_HEADER];
      if (typeof csrf !== 'string' || !sameSecret(csrf, s.csrf)) throw new AuthError('missing or wrong CSRF token', 403);
    }
    return { name: s.user, role: s.role };
  }
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
