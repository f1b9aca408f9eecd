import Database from 'better-sqlite3';
import { severityRank, type Alert as AlertT, type TriageStatus } from '@soc/schema';
import { BackendUnavailableError, SocError } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { AggregationRequest, Aggregations, AlertQuery, AlertStore, Bucket, SearchResult, UpsertResult } from './port.ts';
import {
  INTERVAL_MS,
  RELATED_EVENTS_CAP,
  assertIpFilters,
  decodeCursor,
  encodeCursor,
  parseFreeText,
  timeMs,
  validateBatch,
  type TextClause,
} from './query.ts';

/**
 * Embedded adapter: SQLite (WAL, synchronous=FULL so a resolved upsert survives power loss) with
 * the alert JSON plus one extracted column per filter and sort key, and an FTS5 index.
 *
 * The FTS5 table is *external content* over `alerts` (kept in step by triggers) rather than
 * contentless: the text is stored once, deletes and updates need no bookkeeping of old values
 * outside the trigger, and snippet()/highlight() remain possible.
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
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts_ms, id);
CREATE INDEX IF NOT EXISTS alerts_score ON alerts (score, id);
CREATE INDEX IF NOT EXISTS alerts_severity ON alerts (severity_rank, id);
CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen_ms, id);
CREATE INDEX IF NOT EXISTS alerts_detector ON alerts (detector);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id);
CREATE INDEX IF NOT EXISTS alerts_host ON alerts (host);
CREATE INDEX IF NOT EXISTS alerts_source_ip ON alerts (source_ip);
CREATE INDEX IF NOT EXISTS alerts_destination_ip ON alerts (destination_ip);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
CREATE INDEX IF NOT EXISTS alerts_origin ON alerts (origin);
CREATE INDEX IF NOT EXISTS alerts_tlp ON alerts (tlp);

CREATE VIRTUAL TABLE IF NOT EXISTS alerts_fts USING fts5 (
  message, rule_name, summary,
  content = 'alerts', content_rowid = 'seq',
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS alerts_fts_insert AFTER INSERT ON alerts BEGIN
  INSERT INTO alerts_fts (rowid, message, rule_name, summary) VALUES (new.seq, new.message, new.rule_name, new.summary);
END;
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
  'message', 'summary', 'host', 'source_ip', 'destination_ip', 'origin', 'tlp', 'status', 'count',
] as const;
type Row = Record<(typeof COLUMNS)[number], string | number | null>;

/**
 * The merge rules in SQL. In DO UPDATE, `alerts.*` is the stored row and `excluded.*` the new
 * one; every SET expression sees the stored values. Status is not in the SET list, so it stays.
 */
const UPSERT = `
INSERT INTO alerts (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})
ON CONFLICT (id) DO UPDATE SET
  ${COLUMNS.filter((c) => !['id', 'doc', 'status', 'count', 'first_seen_ms', 'last_seen_ms'].includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(',\n  ')},
  count = max(alerts.count, excluded.count),
  first_seen_ms = min(alerts.first_seen_ms, excluded.first_seen_ms),
  last_seen_ms = max(alerts.last_seen_ms, excluded.last_seen_ms),
  doc = json_set(excluded.doc,
    '$.status', alerts.status,
    '$.count', max(alerts.count, excluded.count),
    '$.first_seen', CASE WHEN excluded.first_seen_ms < alerts.first_seen_ms THEN excluded.doc ->> '$.first_seen' ELSE alerts.doc ->> '$.first_seen' END,
    '$.last_seen', CASE WHEN excluded.last_seen_ms > alerts.last_seen_ms THEN excluded.doc ->> '$.last_seen' ELSE alerts.doc ->> '$.last_seen' END,
    '$.related_events', json((
      SELECT json_group_array(value) FROM (
        SELECT value FROM (
          SELECT value, key AS pos FROM json_each(alerts.doc, '$.related_events')
          UNION ALL
          SELECT value, ${RELATED_EVENTS_CAP * 10} + key FROM json_each(excluded.doc, '$.related_events')
        ) GROUP BY value ORDER BY min(pos) LIMIT ${RELATED_EVENTS_CAP}
      )
    )))
`;

const SORT_COLUMN: Record<AlertQuery['sort'], string> = {
  '@timestamp': 'ts_ms',
  score: 'score',
  severity: 'severity_rank',
  last_seen: 'last_seen_ms',
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
    origin: a.origin.soc,
    tlp: a.tlp,
    status: a.status,
    count: a.count,
  };
}

/** FTS5 MATCH expression: every clause required; words are letters/digits only, quoted anyway. */
export function toFts5Query(clauses: TextClause[]): string {
  return clauses.map((c) => `"${c.words.join(' ').replaceAll('"', '""')}"${c.prefix ? '*' : ''}`).join(' AND ');
}

interface Where {
  sql: string;
  params: (string | number)[];
}

/** The WHERE clause for every AlertQuery filter (not the cursor). */
export function buildWhere(q: AlertQuery): Where {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(`${col} = ?`);
    params.push(v);
  };
  const anyOf = (col: string, vs: readonly string[] | undefined) => {
    if (vs === undefined) return;
    parts.push(`${col} IN (${vs.map(() => '?').join(', ')})`);
    params.push(...vs);
  };
  const cmp = (expr: string, v: number | undefined) => {
    if (v === undefined) return;
    parts.push(expr);
    params.push(v);
  };
  cmp('ts_ms >= ?', q.from === undefined ? undefined : timeMs(q.from));
  cmp('ts_ms < ?', q.to === undefined ? undefined : timeMs(q.to));
  cmp('severity_rank >= ?', q.severity_min === undefined ? undefined : severityRank(q.severity_min));
  eq('host', q.host);
  eq('source_ip', q.source_ip);
  eq('destination_ip', q.destination_ip);
  if (q.ip !== undefined) {
    parts.push('(source_ip = ? OR destination_ip = ?)');
    params.push(q.ip, q.ip);
  }
  anyOf('detector', q.detector);
  eq('rule_id', q.rule_id);
  anyOf('status', q.status);
  eq('origin', q.origin);
  anyOf('tlp', q.tlp);
  const clauses = q.q === undefined ? [] : parseFreeText(q.q);
  if (clauses.length > 0) {
    parts.push('seq IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?)');
    params.push(toFts5Query(clauses));
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}

export function openEmbeddedStore(opts: { path: string; logger?: Logger; busyTimeoutMs?: number }): AlertStore {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
  db.exec(SCHEMA);
  const log = opts.logger?.child({ component: 'store', adapter: 'embedded' });

  const upsertStmt = db.prepare(UPSERT);
  const upsertMany = db.transaction((rows: Row[]) => {
    for (const r of rows) upsertStmt.run(r);
  });
  const getStmt = db.prepare<[string], { doc: string }>('SELECT doc FROM alerts WHERE id = ?');
  const statusStmt = db.prepare<[{ status: string; id: string }], { doc: string }>(
    `UPDATE alerts SET status = @status, doc = json_set(doc, '$.status', @status) WHERE id = @id RETURNING doc`,
  );

  /**
   * A busy or locked database, a full disk and I/O errors are the store being unavailable, not the
   * alert being bad: retriable, so consumers wait them out instead of dead-lettering valid alerts.
   */
  const guard = <T>(op: string, fn: () => T): T => {
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
      guard('upsert', () => upsertMany(valid.map(toRow)));
      if (failed.length > 0) log?.warn({ failed: failed.length }, 'invalid alerts not stored');
      return { upserted: valid.length, failed };
    },

    async get(id) {
      const row = guard('get', () => getStmt.get(id));
      return row ? (JSON.parse(row.doc) as AlertT) : null;
    },

    async search(q): Promise<SearchResult> {
      assertIpFilters(q);
      const where = buildWhere(q);
      const col = SORT_COLUMN[q.sort];
      const dir = q.order === 'asc' ? 'ASC' : 'DESC';
      const keyset: Where = { sql: '1', params: [] };
      if (q.cursor !== undefined) {
        const [value, id] = decodeCursor(q.cursor);
        keyset.sql = `(${col}, id) ${q.order === 'asc' ? '>' : '<'} (?, ?)`;
        keyset.params = [value, id];
      }
      return guard('search', () => {
        const total = (db.prepare(`SELECT count(*) AS n FROM alerts WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
        const rows = db
          .prepare(`SELECT doc, ${col} AS sv, id FROM alerts WHERE ${where.sql} AND ${keyset.sql} ORDER BY ${col} ${dir}, id ${dir} LIMIT ?`)
          .all(...where.params, ...keyset.params, q.limit + 1) as { doc: string; sv: number; id: string }[];
        const page = rows.slice(0, q.limit);
        const last = page[page.length - 1];
        return {
          alerts: page.map((r) => JSON.parse(r.doc) as AlertT),
          total,
          next_cursor: rows.length > q.limit && last ? encodeCursor(last.sv, last.id) : null,
        };
      });
    },

    async aggregate(q, req: AggregationRequest): Promise<Aggregations> {
      assertIpFilters(q);
      const where = buildWhere(q);
      const terms = (expr: string): Bucket[] =>
        db
          .prepare(
            `SELECT ${expr} AS key, count(*) AS count FROM alerts WHERE ${where.sql} AND ${expr} IS NOT NULL
             GROUP BY key ORDER BY count DESC, key ASC LIMIT ?`,
          )
          .all(...where.params, req.size) as Bucket[];
      const step = INTERVAL_MS[req.interval];
      return guard('aggregate', () => {
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
          over_time: overTime.map((b) => ({ key: new Date(b.start).toISOString(), count: b.count })),
        };
      });
    },

    async setStatus(id, status: TriageStatus) {
      const row = guard('setStatus', () => statusStmt.get({ status, id }));
      return row ? (JSON.parse(row.doc) as AlertT) : null;
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
