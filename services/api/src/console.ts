import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { AuthError, SocError } from '@soc/errors';
import { roleAllows } from '@soc/config';
import { AuthDb, clearedSessionCookie, sessionCookie, sessionIdOf } from '@soc/auth';
import type { Bus } from '@soc/bus';
import { HttpError, parseQuery as parseParams, readJson, sendJson, type Route } from '@soc/http';
import { evaluate, parseQuery } from '@soc/query';
import { Alert, DeadLetter, TOPICS, decodeJson } from '@soc/schema';
import { CaseInput, CasePatch, CaseQuery, type AlertStore } from '@soc/store';
import type { Logger } from '@soc/telemetry';
import { keyId, type TrustList } from '@soc/federation';
import { answering } from './routes.ts';

/**
 * What the analyst console needs beyond the alert API: its static files, login sessions, the
 * live alert stream (server-sent events), cases, and the federation and model pages' data.
 */

export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/**
 * Strict CSP: scripts and styles only from this origin (no inline script, no eval), nothing
 * embeds the console, nothing it loads leaks a referrer.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'cache-control': 'no-store',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The console's files, read once: only names listed here are ever served (no path from the URL reaches the disk). */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const f of readdirSync(dir)) {
    const type = TYPES[extname(f)];
    if (type) out.set(f, { body: readFileSync(join(dir, f)), type });
  }
  return out;
}

function sendAsset(res: ServerResponse, a: { body: Buffer; type: string }): void {
  res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length });
  res.end(a.body);
}

const Login = z.object({ user: z.string().min(1).max(128), password: z.string().min(1).max(256) }).strict();

/** Server-sent event streams open now, ended when the service stops (they would hold the server open). */
export class LiveStreams {
  private readonly open = new Set<() => void>();
  add(end: () => void): () => void {
    this.open.add(end);
    return () => this.open.delete(end);
  }
  async stop(): Promise<void> {
    for (const end of [...this.open]) end();
    this.open.clear();
  }
}

export interface ConsoleOptions {
  store: AlertStore;
  bus: Bus;
  auth: AuthDb;
  streams: LiveStreams;
  logger: Logger;
  /** The consumer group whose committed offsets mean "in the store": the stream shows only indexed alerts. */
  indexerGroup: string;
  /** This SOC's id: alerts of any other origin are partner alerts. */
  self: string;
  trustList?: () => Promise<TrustList>;
  rollbackModel?: (version: string | undefined) => Promise<unknown>;
  /** Cookies marked Secure (set behind TLS). */
  secureCookies?: boolean;
  webDir?: string;
  pollMs?: number;
}

export function consoleRoutes(o: ConsoleOptions): Route[] {
  const assets = loadAssets(o.webDir ?? WEB_DIR);
  const index = assets.get('index.html');
  if (!index) throw new Error(`console files missing in ${o.webDir ?? WEB_DIR}`);
  const secure = o.secureCookies ?? false;
  return [
    { method: 'GET', path: '/', roles: [], public: true, handler: async ({ res }) => sendAsset(res, index) },
    {
      method: 'GET',
      path: '/assets/:file',
      roles: [],
      public: true,
      handler: async ({ res, params }) => {
        const a = assets.get(params.file!);
        if (!a) throw new HttpError(404, 'not found');
        sendAsset(res, a);
      },
    },
    {
      method: 'POST',
      path: '/v1/session',
      roles: [],
      public: true,
      handler: async ({ req, res }) => {
        const { user, password } = await readJson(req, Login, 4096);
        const { id, session } = await o.auth.login(user, password);
        o.logger.info({ user }, 'console login');
        const maxAge = Math.floor((Date.parse(session.expires_at) - Date.now()) / 1000);
        sendJson(res, 200, session, { 'set-cookie': sessionCookie(id, maxAge, secure) });
      },
    },
    {
      method: 'GET',
      path: '/v1/session',
      roles: ['analyst'],
      handler: async ({ req, res, principal }) => {
        const id = sessionIdOf(req);
        const s = id === undefined || req.headers.authorization ? undefined : o.auth.session(id);
        sendJson(res, 200, { user: principal.name, role: principal.role, ...(s ? { csrf: s.csrf, expires_at: s.expires_at } : {}) });
      },
    },
    {
      method: 'DELETE',
      path: '/v1/session',
      roles: ['analyst'],
      handler: async ({ req, res, principal }) => {
        const id = sessionIdOf(req);
        if (id !== undefined) o.auth.logout(id);
        o.logger.info({ user: principal.name }, 'console logout');
        sendJson(res, 200, { ok: true }, { 'set-cookie': clearedSessionCookie(secure) });
      },
    },
    {
      method: 'GET',
      path: '/v1/alerts/stream',
      roles: ['analyst'],
      handler: async ({ req, res, query }) => {
        const q = query.get('q') ?? '';
        await answering(res, async () => {
          const tree = parseQuery(q);
          await streamAlerts(o, req, res, (a) => evaluate(tree, a, Date.now()));
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/cases',
      roles: ['analyst'],
      handler: async ({ res, query }) => sendJson(res, 200, { cases: await o.store.listCases(parseParams(CaseQuery, query)) }),
    },
    {
      method: 'POST',
      path: '/v1/cases',
      roles: ['analyst'],
      handler: async ({ req, res, principal }) => {
        const input = await readJson(req, CaseInput);
        for (const id of input.alert_ids ?? []) if (!(await o.store.get(id))) throw new HttpError(400, `no alert ${id}`);
        sendJson(res, 201, await o.store.createCase(input, principal.name));
      },
    },
    {
      method: 'GET',
      path: '/v1/cases/:id',
      roles: ['analyst'],
      handler: async ({ res, params }) => {
        const c = await o.store.getCase(params.id!);
        if (!c) throw new HttpError(404, `no case ${params.id}`);
        const alerts = (await Promise.all(c.alert_ids.map((id) => o.store.get(id)))).filter((a) => a !== null);
        const timeline = await o.store.audit({ target_kind: 'case', target_id: c.id, limit: 1000 });
        sendJson(res, 200, { ...c, alerts, timeline });
      },
    },
    {
      method: 'PATCH',
      path: '/v1/cases/:id',
      roles: ['analyst'],
      handler: async ({ req, res, params, principal }) =>
        answering(res, async () => {
          const patch = await readJson(req, CasePatch);
          // Closing a case, reopening it, or giving it to someone else is a lead's decision.
          const lead = roleAllows(principal.role, ['lead']);
          if (!lead && (patch.status === 'closed' || (patch.assignee !== undefined && patch.assignee !== null && patch.assignee !== principal.name))) {
            throw new AuthError('only a lead may close a case or assign it to someone else', 403);
          }
          const current = await o.store.getCase(params.id!);
          if (!current) throw new HttpError(404, `no case ${params.id}`);
          if (!lead && current.status === 'closed' && patch.status !== undefined) throw new AuthError('only a lead may reopen a case', 403);
          for (const id of patch.add_alerts ?? []) if (!(await o.store.get(id))) throw new HttpError(400, `no alert ${id}`);
          sendJson(res, 200, await o.store.updateCase(params.id!, patch, principal.name));
        }),
    },
    {
      method: 'GET',
      path: '/v1/federation',
      roles: ['analyst'],
      handler: async ({ res }) => {
        const partner = await o.store.search({ q: `NOT origin.soc:"${o.self.replaceAll('"', '\\"')}"`, sort: '@timestamp', order: 'desc', limit: 100 });
        const records = await o.bus.read(TOPICS.deadLetter, { partition: 0, fromOffset: 0, limit: 1000 });
        const quarantine = records.flatMap((r) => {
          const d = decodeJson(DeadLetter, r.value, 'dead letter');
          return d.ok && d.value.stage === 'federation' ? [{ offset: r.offset, ...d.value }] : [];
        });
        sendJson(res, 200, { self: o.self, partner_alerts: partner.alerts, partner_total: partner.total, quarantine, trust: o.trustList ? trustView(await o.trustList()) : null });
      },
    },
    ...(o.rollbackModel
      ? [
          {
            method: 'POST',
            path: '/v1/models/rollback',
            roles: ['lead'],
            handler: async ({ req, res }) => {
              const { version } = await readJson(req, z.object({ version: z.string().max(128).optional() }).strict());
              try {
                sendJson(res, 200, { active: await o.rollbackModel!(version) });
              } catch (err) {
                // "Nothing to roll back to" is the registry's state, not a server fault.
                if (!(err instanceof SocError) || err.retriable) throw err;
                sendJson(res, 409, { error: err.message });
              }
            },
          } satisfies Route,
        ]
      : []),
  ];
}

/** The trust list as analysts read it: who, and the key id (not the key itself). */
const trustView = (t: TrustList) => ({
  partners: t.partners.map((p) => ({ id: p.id, country: p.country, name: p.name, key_id: keyId(p.publicKey), relays: p.allowRelayFrom })),
});

/**
 * Streams alerts as the indexer commits them: one `alert` event per alert (read back from the
 * store, so triage made since shows), filtered by the client's query, with a heartbeat comment.
 */
async function streamAlerts(o: ConsoleOptions, req: Parameters<Route['handler']>[0]['req'], res: ServerResponse, keep: (a: Alert) => boolean): Promise<void> {
  const positions = new Map<number, number>();
  for (const p of await o.bus.lag(o.indexerGroup, TOPICS.alerts)) positions.set(p.partition, p.committed);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write(': connected\n\n');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    unregister();
    res.end();
  };
  const unregister = o.streams.add(end);
  req.on('close', end);
  let beats = 0;
  const tick = async () => {
    for (const p of await o.bus.lag(o.indexerGroup, TOPICS.alerts)) {
      const from = positions.get(p.partition) ?? 0;
      if (p.committed <= from) continue;
      const records = await o.bus.read(TOPICS.alerts, { partition: p.partition, fromOffset: from, limit: Math.min(500, p.committed - from) });
      const last = records.at(-1);
      positions.set(p.partition, last ? last.offset + 1 : p.committed);
      for (const r of records) {
        if (r.offset >= p.committed) break;
        const d = decodeJson(Alert, r.value, 'alert');
        if (!d.ok) continue;
        const stored = (await o.store.get(d.value.id)) ?? d.value;
        if (!closed && keep(stored)) res.write(`event: alert\ndata: ${JSON.stringify(stored)}\n\n`);
      }
    }
    if (++beats % 15 === 0 && !closed) res.write(': heartbeat\n\n');
  };
  const loop = () => {
    if (closed) return;
    void tick()
      .catch((err: unknown) => o.logger.warn({ err }, 'alert stream poll failed'))
      .finally(() => {
        if (!closed) timer = setTimeout(loop, o.pollMs ?? 1000);
      });
  };
  loop();
}
