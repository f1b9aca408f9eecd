import Database from 'better-sqlite3';
import { severityRank, type Alert as AlertT } from '@soc/schema';
import { BackendUnavailableError, SocError } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { AggregationRequest, Aggregations, AlertQuery, AlertStore, Bucket, SearchResult, UpsertResult } from './port.ts';
import { parseIp } from '@soc/netaddr';
import { INTERVAL_MS, RELATED_EVENTS_CAP, TIES_BY_TIME, assertIpFilters, decodeCursor, encodeCursor, queryTree, timeMs, validateBatch } from './query.ts';
import { ipKeyOf, toSql } from './sql-query.ts';
import {
  AuditEntry,
  Case,
  applyCasePatch,
  applyTriage,
  newCase,
  type AuditQuery,
  type CaseQuery,
} from './triage.ts';

/**
 * Embedded adapter: SQLite (WAL, synchronous=FULL so a resolved upsert survives power loss) with
 * the alert JSON plus one extracted column per filter and sort key, and an FTS5 index.
 *
 * The FTS5 table is *external content* over `alerts` rather than contentless: the text is stored
 * once, deletes and updates need no bookkeeping of old values outside their triggers, and
 * snippet()/highlight() remain possible. New rows are indexed by one statement per upsert batch,
 * in the batch's transaction, so a search right after an upsert finds its alerts.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  doc TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  score REAL NOT NULL,
  detector TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  message TEXT NOT NULL,
  summary TEXT NOT NULL,
  host TEXT,
  source_ip TEXT,
  destination_ip TEXT,
  origin TEXT NOT NULL,
  tlp TEXT NOT NULL,
  status TEXT NOT NULL,
  count INTEGER NOT NULL
);

-- The triage trail. Append-only is enforced by the database, not only by the code.
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  at_ms INTEGER NOT NULL,
  target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_target ON audit (target_kind, target_id, at_ms, id);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at_ms, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_updated ON cases (updated_at, id);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts_ms, id);
-- Score and severity break ties by time, then id (query.ts TIES_BY_TIME): alerts arrive in time
-- order, so these grow at the end of each value's run; ordered by id they took a random page per
-- alert, and a 150,000-alert store inserted 1.4x slower for these two alone.
DROP INDEX IF EXISTS alerts_score;
DROP INDEX IF EXISTS alerts_severity;
CREATE INDEX IF NOT EXISTS alerts_score_ts ON alerts (score, ts_ms, id);
CREATE INDEX IF NOT EXISTS alerts_severity_ts ON alerts (severity_rank, ts_ms, id);
CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen_ms, id);
CREATE INDEX IF NOT EXISTS alerts_detector ON alerts (detector);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id);
CREATE INDEX IF NOT EXISTS alerts_host ON alerts (host);
-- Addresses are indexed once, by key (see ADDED_INDEXES): an address index takes a random page
-- per alert, as addresses come in any order.
DROP INDEX IF EXISTS alerts_source_ip;
DROP INDEX IF EXISTS alerts_destination_ip;
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
-- Origin and TLP select large shares of the table (a scan in sort order is as fast) and
-- an index on them cost every insert: not indexed.
DROP INDEX IF EXISTS alerts_origin;
DROP INDEX IF EXISTS alerts_tlp;

CREATE VIRTUAL TABLE IF NOT EXISTS alerts_fts USING fts5 (
  message, rule_name, summary,
  content = 'alerts', content_rowid = 'seq',
  tokenize = 'unicode61 remove_diacritics 2'
);
-- New rows are indexed by one INSERT … SELECT per upsert batch, in the batch's transaction (see
-- openEmbeddedStore): a row trigger made FTS5 write a segment per row, half of the insert cost.
DROP TRIGGER IF EXISTS alerts_fts_insert;
CREATE TRIGGER IF NOT EXISTS alerts_fts_delete AFTER DELETE ON alerts BEGIN
  INSERT INTO alerts_fts (alerts_fts, rowid, message, rule_name, summary) VALUES ('delete', old.seq, old.message, old.rule_name, old.summary);
END;
-- Re-upserting unchanged text (the common case) leaves the index alone.
CREATE TRIGGER IF NOT EXISTS alerts_fts_update AFTER UPDATE OF message, rule_name, summary ON alerts
WHEN old.message IS NOT new.message OR old.rule_name IS NOT new.rule_name OR old.summary IS NOT new.summary BEGIN
  INSERT INTO alerts_fts (alerts_fts, rowid, message, rule_name, summary) VALUES ('delete', old.seq, old.message, old.rule_name, old.summary);
  INSERT INTO alerts_fts (rowid, message, rule_name, summary) VALUES (new.seq, new.message, new.rule_name, new.summary);
END;
`;

const COLUMNS = [
  'id', 'doc', 'ts_ms', 'first_seen_ms', 'last_seen_ms', 'severity', 'severity_rank', 'score', 'detector', 'rule_id', 'rule_name',
  'message', 'summary', 'host', 'source_ip', 'destination_ip', 'source_ip_key', 'destination_ip_key', 'origin', 'tlp', 'status',
  'assignee', 'count',
] as const;

/** Columns added after the first release: created on open, and filled in for existing rows. */
const ADDED_COLUMNS = ['source_ip_key', 'destination_ip_key', 'assignee'] as const;
const ADDED_INDEXES = `

-- Filters and CIDR ranges on an address use the key; by_source/by_destination group on the key and
-- read the address as written from the same index.
DROP INDEX IF EXISTS alerts_source_ip_key;
DROP INDEX IF EXISTS alerts_destination_ip_key;
CREATE INDEX IF NOT EXISTS alerts_source_addr ON alerts (source_ip_key, source_ip);
CREATE INDEX IF NOT EXISTS alerts_destination_addr ON alerts (destination_ip_key, destination_ip);
CREATE INDEX IF NOT EXISTS alerts_assignee ON alerts (assignee);
`;
type Row = Record<(typeof COLUMNS)[number], string | number | null>;

// Positional: binding 23 named parameters looked each one up on the row object (2-4 µs per alert
// of the store bench's CPU with 100,000 storm alerts).
const INSERT = `INSERT INTO alerts (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

/**
 * The merge rules of a re-upsert, in JS over the stored row (one parse, no JSON functions in
 * SQL): the analysts' triage (status, assignee) stays, the count is the larger, first_seen the
 * earlier and last_seen the later instant, related_events the union in first-seen order, capped.
 */
export function mergeAlert(stored: AlertT, next: AlertT): AlertT {
  const events = new Set(stored.related_events);
  for (const e of next.related_events) {
    if (events.size >= RELATED_EVENTS_CAP) break;
    events.add(e);
  }
  const { assignee: _ignored, ...incoming } = next;
  return {
    ...incoming,
    ...(stored.assignee !== undefined ? { assignee: stored.assignee } : {}),
    status: stored.status,
    count: Math.max(stored.count, next.count),
    first_seen: timeMs(next.first_seen) < timeMs(stored.first_seen) ? next.first_seen : stored.first_seen,
    last_seen: timeMs(next.last_seen) > timeMs(stored.last_seen) ? next.last_seen : stored.last_seen,
    related_events: [...events].slice(0, RELATED_EVENTS_CAP),
  };
}

const SORT_COLUMN: Record<AlertQuery['sort'], string> = {
  '@timestamp': 'ts_ms',
  score: 'score',
  severity: 'severity_rank',
  last_seen: 'last_seen_ms',
};

const ipKey = (ip: string | undefined): string | null => {
  const p = ip === undefined ? undefined : parseIp(ip);
  return p ? ipKeyOf(p.version, p.value) : null;
};

function toRow(a: AlertT): Row {
  return {
    id: a.id,
    doc: JSON.stringify(a),
    ts_ms: timeMs(a['@timestamp']),
    first_seen_ms: timeMs(a.first_seen),
    last_seen_ms: timeMs(a.last_seen),
    severity: a.severity,
    severity_rank: severityRank(a.severity),
    score: a.score,
    detector: a.detector,
    rule_id: a.rule.id,
    rule_name: a.rule.name,
    message: a.message,
    summary: a.explanation.summary,
    host: a.host?.name ?? null,
    source_ip: a.source?.ip ?? null,
    destination_ip: a.destination?.ip ?? null,
    source_ip_key: ipKey(a.source?.ip),
    destination_ip_key: ipKey(a.destination?.ip),
    origin: a.origin.soc,
    tlp: a.tlp,
    status: a.status,
    assignee: a.assignee ?? null,
    count: a.count,
  };
}

interface Where {
  sql: string;
  params: (string | number)[];
}

/**
 * The WHERE clause for every AlertQuery filter (not the cursor); `q` is resolved at `nowMs`.
 * `orderedScan` marks filter columns unindexable (unary `+`), for a page query: walking the sort
 * index and stopping at the page's end beats collecting every match through a filter index and
 * sorting it. Counts keep the indexes.
 */
export function buildWhere(q: AlertQuery, nowMs: number, orderedScan = false): Where {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const c = (col: string) => (orderedScan ? `+${col}` : col);
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(`${c(col)} = ?`);
    params.push(v);
  };
  const anyOf = (col: string, vs: readonly string[] | undefined) => {
    if (vs === undefined) return;
    parts.push(`${c(col)} IN (${vs.map(() => '?').join(', ')})`);
    params.push(...vs);
  };
  const cmp = (col: string, op: string, v: number | undefined) => {
    if (v === undefined) return;
    parts.push(`${c(col)} ${op} ?`);
    params.push(v);
  };
  cmp('ts_ms', '>=', q.from === undefined ? undefined : timeMs(q.from));
  cmp('ts_ms', '<', q.to === undefined ? undefined : timeMs(q.to));
  cmp('severity_rank', '>=', q.severity_min === undefined ? undefined : severityRank(q.severity_min));
  eq('host', q.host);
  // An address matches by value (any spelling), as Elasticsearch's `ip` fields do; a filter that
  // is not an address was refused by assertIpFilters.
  const addr = (v: string | undefined) => (v === undefined ? undefined : (ipKey(v) ?? ''));
  eq('source_ip_key', addr(q.source_ip));
  eq('destination_ip_key', addr(q.destination_ip));
  const ip = addr(q.ip);
  if (ip !== undefined) {
    parts.push(`(${c('source_ip_key')} = ? OR ${c('destination_ip_key')} = ?)`);
    params.push(ip, ip);
  }
  anyOf('detector', q.detector);
  eq('rule_id', q.rule_id);
  anyOf('status', q.status);
  eq('origin', q.origin);
  anyOf('tlp', q.tlp);
  const tree = queryTree(q);
  if (tree.kind !== 'all') {
    const sql = toSql(tree, nowMs, orderedScan);
    parts.push(sql.sql);
    params.push(...sql.params);
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}

function migrate(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(alerts)').all() as { name: string }[]).map((c) => c.name));
  const missing = ADDED_COLUMNS.filter((c) => !have.has(c));
  if (missing.length > 0) {
    db.function('soc_ip_key', { deterministic: true }, (ip: unknown) => ipKey(typeof ip === 'string' ? ip : undefined));
    db.transaction(() => {
      for (const c of missing) db.exec(`ALTER TABLE alerts ADD COLUMN ${c} TEXT`);
      db.exec(`UPDATE alerts SET source_ip_key = soc_ip_key(source_ip), destination_ip_key = soc_ip_key(destination_ip), assignee = doc ->> '$.assignee'`);
    })();
  }
  db.exec(ADDED_INDEXES);
}

export function openEmbeddedStore(opts: { path: string; logger?: Logger; busyTimeoutMs?: number }): AlertStore {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Alert inserts touch pages all over the id and sort indexes: with SQLite's 2 MiB default cache
  // they are read back and spilled again and again (storm inserts 1.3–1.9x slower at 100k alerts).
  // A longer WAL between checkpoints copies a page rewritten by many batches once: the id and
  // address indexes take a random page per alert, so at 150,000 stored a checkpoint every 40,000
  // pages (a WAL of up to 160 MiB) inserted 1.3x faster than every 10,000 (bench store, fill).
  db.pragma('cache_size = -32768');
  db.pragma('wal_autocheckpoint = 40000');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
  db.exec(SCHEMA);
  migrate(db);
  const log = opts.logger?.child({ component: 'store', adapter: 'embedded' });

  const insertStmt = db.prepare(INSERT);
  const storedStmt = db.prepare<[string], Row>(`SELECT ${COLUMNS.join(', ')} FROM alerts WHERE id = ?`);
  // An UPDATE sets only the columns that changed, so the indexes of unchanged ones (and the
  // text index, through its trigger) are left alone; one statement per set of columns.
  const updates = new Map<string, Database.Statement>();
  const update = (stored: Row, row: Row) => {
    const changed = COLUMNS.filter((c) => c !== 'id' && stored[c] !== row[c]);
    if (changed.length === 0) return;
    const key = changed.join(',');
    let stmt = updates.get(key);
    if (!stmt) updates.set(key, (stmt = db.prepare(`UPDATE alerts SET ${changed.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`)));
    stmt.run(row);
  };
  const lastSeqStmt = db.prepare<[], number | null>('SELECT max(seq) FROM alerts').pluck();
  const indexNewStmt = db.prepare<[number]>('INSERT INTO alerts_fts (rowid, message, rule_name, summary) SELECT seq, message, rule_name, summary FROM alerts WHERE seq > ?');
  // One write transaction per batch; taken IMMEDIATE because it reads the stored rows it merges.
  // The alerts of one id are merged in order first, as upserts one after another would, so each
  // row is written once: new rows get seqs above the batch's start, and one statement indexes
  // their final text; a stored row is already indexed, and the update trigger keeps it in step.
  const upsertMany = db.transaction((alerts: AlertT[]) => {
    const merged = new Map<string, { stored: Row | undefined; alert: AlertT }>();
    for (const a of alerts) {
      const seen = merged.get(a.id);
      if (seen) {
        seen.alert = mergeAlert(seen.alert, a);
        continue;
      }
      const stored = storedStmt.get(a.id);
      merged.set(a.id, { stored, alert: stored ? mergeAlert(JSON.parse(stored.doc as string) as AlertT, a) : a });
    }
    const lastSeq = lastSeqStmt.get() ?? 0;
    let inserted = 0;
    for (const { stored, alert } of merged.values()) {
      if (stored) {
        update(stored, toRow(alert));
      } else {
        const row = toRow(alert);
        insertStmt.run(COLUMNS.map((c) => row[c]));
        inserted++;
      }
    }
    if (inserted > 0) indexNewStmt.run(lastSeq);
  });
  const getStmt = db.prepare<[string], { doc: string }>('SELECT doc FROM alerts WHERE id = ?');
  const triageStmt = db.prepare<[{ status: string; assignee: string | null; doc: string; id: string }]>(
    'UPDATE alerts SET status = @status, assignee = @assignee, doc = @doc WHERE id = @id',
  );
  const auditStmt = db.prepare<[{ id: string; at_ms: number; target_kind: string; target_id: string; actor: string; doc: string }]>(
    'INSERT INTO audit (id, at_ms, target_kind, target_id, actor, doc) VALUES (@id, @at_ms, @target_kind, @target_id, @actor, @doc)',
  );
  const appendAudit = (entries: AuditEntry[]) => {
    for (const e of entries) auditStmt.run({ id: e.id, at_ms: Date.parse(e.at), target_kind: e.target.kind, target_id: e.target.id, actor: e.actor, doc: JSON.stringify(e) });
  };
  const getCaseStmt = db.prepare<[string], { doc: string }>('SELECT doc FROM cases WHERE id = ?');
  const putCaseStmt = db.prepare<[{ id: string; status: string; updated_at: string; doc: string }]>(
    'INSERT INTO cases (id, status, updated_at, doc) VALUES (@id, @status, @updated_at, @doc) ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc',
  );
  const putCase = (c: Case) => putCaseStmt.run({ id: c.id, status: c.status, updated_at: c.updated_at, doc: JSON.stringify(c) });
  const readCase = (id: string): Case | null => {
    const row = getCaseStmt.get(id);
    return row ? Case.parse(JSON.parse(row.doc)) : null;
  };

  /**
   * A busy or locked database, a full disk and I/O errors are the store being unavailable, not the
   * alert being bad: retriable, so consumers wait them out instead of dead-lettering valid alerts.
   */
  const sqlite = <T>(op: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SocError) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code)) throw new BackendUnavailableError(`sqlite ${op}: ${code}`, { cause: err });
      throw new SocError(`sqlite ${op} failed: ${(err as Error).message}`, { cause: err });
    }
  };

  return {
    kind: 'embedded',

    async upsert(alerts): Promise<UpsertResult> {
      const { valid, failed } = validateBatch(alerts);
      sqlite('upsert', () => upsertMany.immediate(valid));
      if (failed.length > 0) log?.warn({ failed: failed.length }, 'invalid alerts not stored');
      return { upserted: valid.length, failed };
    },

    async get(id) {
      const row = sqlite('get', () => getStmt.get(id));
      return row ? (JSON.parse(row.doc) as AlertT) : null;
    },

    async search(q): Promise<SearchResult> {
      assertIpFilters(q);
      const now = Date.now();
      const where = buildWhere(q, now);
      const scan = buildWhere(q, now, true);
      // The sort's keys then id, all in one direction: the order of its index (query.ts TIES_BY_TIME).
      const keys = TIES_BY_TIME[q.sort] ? [SORT_COLUMN[q.sort], 'ts_ms'] : [SORT_COLUMN[q.sort]];
      const dir = q.order === 'asc' ? 'ASC' : 'DESC';
      const keyset: Where = { sql: '1', params: [] };
      if (q.cursor !== undefined) {
        const after = decodeCursor(q.cursor, q.sort);
        keyset.sql = `(${keys.join(', ')}, id) ${q.order === 'asc' ? '>' : '<'} (${keys.map(() => '?').join(', ')}, ?)`;
        keyset.params = [...after.keys, after.id];
      }
      const keyCols = keys.map((k, i) => `${k} AS k${i}`).join(', ');
      return sqlite('search', () => {
        const total = (db.prepare(`SELECT count(*) AS n FROM alerts WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
        const rows = db
          .prepare(`SELECT doc, ${keyCols}, id FROM alerts WHERE ${scan.sql} AND ${keyset.sql} ORDER BY ${keys.map((k) => `${k} ${dir}`).join(', ')}, id ${dir} LIMIT ?`)
          .all(...scan.params, ...keyset.params, q.limit + 1) as ({ doc: string; id: string } & Record<string, number>)[];
        const page = rows.slice(0, q.limit);
        const last = page[page.length - 1];
        return {
          alerts: page.map((r) => JSON.parse(r.doc) as AlertT),
          total,
          next_cursor: rows.length > q.limit && last ? encodeCursor(keys.map((_, i) => last[`k${i}`]!), last.id) : null,
        };
      });
    },

    async aggregate(q, req: AggregationRequest): Promise<Aggregations> {
      assertIpFilters(q);
      const where = buildWhere(q, Date.now());
      // An address groups by value (its key), as an Elasticsearch `ip` field does; the bucket shows
      // it as written, read from the same index.
      const terms = (expr: string, by = expr): Bucket[] =>
        db
          .prepare(
            `SELECT ${by === expr ? expr : `min(${expr})`} AS key, count(*) AS count FROM alerts WHERE ${where.sql} AND ${by} IS NOT NULL
             GROUP BY ${by} ORDER BY count DESC, key ASC LIMIT ?`,
          )
          .all(...where.params, req.size) as Bucket[];
      const step = INTERVAL_MS[req.interval];
      return sqlite('aggregate', () => {
        const total = (db.prepare(`SELECT count(*) AS n FROM alerts WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
        const overTime = db
          .prepare(`SELECT (ts_ms - (ts_ms % ?)) AS start, count(*) AS count FROM alerts WHERE ${where.sql} GROUP BY start ORDER BY start`)
          /* the step is bound first: it precedes the WHERE placeholders */
          .all(step, ...where.params) as { start: number; count: number }[];
        return {
          total,
          by_severity: terms('severity'),
          by_detector: terms('detector'),
          by_rule: terms('rule_id'),
          by_host: terms('host'),
          by_source: terms('source_ip', 'source_ip_key'),
          by_destination: terms('destination_ip', 'destination_ip_key'),
          over_time: overTime.map((b) => ({ key: new Date(b.start).toISOString(), count: b.count })),
        };
      });
    },

    async triage(id, change, actor, guard) {
      // One transaction: the check against the current status and the write cannot interleave.
      // IMMEDIATE, as every read-then-write here: a deferred one reads a snapshot, and if another
      // connection (the indexer's batch) commits before it gets the write lock, SQLite refuses it
      // as busy at once instead of waiting.
      return sqlite('triage', () =>
        db.transaction(() => {
          const row = getStmt.get(id);
          if (!row) return null;
          const current = JSON.parse(row.doc) as AlertT;
          guard?.(current, change);
          const result = applyTriage(current, change, actor, Date.now());
          if (result.entries.length === 0) return result;
          triageStmt.run({ id, status: result.alert.status, assignee: result.alert.assignee ?? null, doc: JSON.stringify(result.alert) });
          appendAudit(result.entries);
          return result;
        }).immediate(),
      );
    },

    async audit(q: AuditQuery) {
      const parts: string[] = [];
      const params: (string | number)[] = [];
      if (q.target_kind !== undefined) (parts.push('target_kind = ?'), params.push(q.target_kind));
      if (q.target_id !== undefined) (parts.push('target_id = ?'), params.push(q.target_id));
      if (q.actor !== undefined) (parts.push('actor = ?'), params.push(q.actor));
      const where = parts.length > 0 ? parts.join(' AND ') : '1';
      const rows = sqlite('audit', () =>
        db.prepare(`SELECT doc FROM (SELECT doc, at_ms, id FROM audit WHERE ${where} ORDER BY at_ms DESC, id DESC LIMIT ?) ORDER BY at_ms, id`).all(...params, q.limit),
      ) as { doc: string }[];
      return rows.map((r) => AuditEntry.parse(JSON.parse(r.doc)));
    },

    async createCase(input, actor) {
      const { kase, entries } = newCase(input, actor, Date.now());
      sqlite('create case', () =>
        db.transaction(() => {
          putCase(kase);
          appendAudit(entries);
        })(),
      );
      return kase;
    },

    async getCase(id) {
      return sqlite('get case', () => readCase(id));
    },

    async listCases(q: CaseQuery) {
      const rows = sqlite('list cases', () =>
        q.status === undefined
          ? db.prepare('SELECT doc FROM cases ORDER BY updated_at DESC, id DESC LIMIT ?').all(q.limit)
          : db.prepare('SELECT doc FROM cases WHERE status = ? ORDER BY updated_at DESC, id DESC LIMIT ?').all(q.status, q.limit),
      ) as { doc: string }[];
      return rows.map((r) => Case.parse(JSON.parse(r.doc)));
    },

    async updateCase(id, patch, actor) {
      return sqlite('update case', () =>
        db.transaction(() => {
          const current = readCase(id);
          if (!current) return null;
          const { kase, entries } = applyCasePatch(current, patch, actor, Date.now());
          if (entries.length === 0) return current;
          putCase(kase);
          appendAudit(entries);
          return kase;
        }).immediate(),
      );
    },

    async ping() {
      try {
        db.prepare('SELECT 1').get();
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      if (db.open) db.close();
    },
  };
}
