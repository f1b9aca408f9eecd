import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertQuery } from './port.ts';
import { storeConformance } from './conformance.ts';
import { parseQuery } from '@soc/query';
import { openEmbeddedStore } from './embedded.ts';
import { buildAlerts } from './fixtures.ts';
import { toSql } from './sql-query.ts';
import { holdWriteLock } from '@soc/testkit/sqlite-lock';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'soc-store-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeConformance('embedded', async () => {
  const dir = tempDir();
  return { store: openEmbeddedStore({ path: join(dir, 'alerts.db') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('embedded: a concurrent writer', () => {
  // The indexer (its own connection, another thread or process) holds the write lock for a whole
  // batch; an analyst's triage or case update in that window waits for it, then reads and writes.
  it('triage and case updates wait for a writer that holds the file, instead of failing as busy', async () => {
    const path = join(tempDir(), 'alerts.db');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const store = openEmbeddedStore({ path });
    const alert = { ...buildAlerts(1, 9)[0]!, status: 'new' as const };
    await store.upsert([alert]);
    const kase = await store.createCase({ title: 'storm', alert_ids: [alert.id] }, 'alice');

    let writer = await holdWriteLock(path, 300, driver);
    const triaged = await store.triage(alert.id, { status: 'acknowledged', assignee: 'alice' }, 'alice');
    expect(triaged?.alert.status).toBe('acknowledged');
    await writer.committed;

    writer = await holdWriteLock(path, 300, driver);
    const updated = await store.updateCase(kase.id, { status: 'closed' }, 'alice');
    expect(updated?.status).toBe('closed');
    await writer.committed;

    expect((await store.get(alert.id))?.status).toBe('acknowledged');
    expect((await store.getCase(kase.id))?.status).toBe('closed');
    await store.close();
  });
});

describe('embedded: a store written by an earlier release', () => {
  it('replaces the id-ordered sort indexes and the doubled address indexes on open, keeping every alert findable', async () => {
    const { default: Database } = await import('better-sqlite3');
    const path = join(tempDir(), 'alerts.db');
    const first = openEmbeddedStore({ path });
    const alerts = buildAlerts(200, 4);
    await first.upsert(alerts);
    await first.close();
    // The indexes of the earlier layout, as an older file has them.
    const raw = new Database(path);
    raw.exec(`DROP INDEX alerts_score_ts; DROP INDEX alerts_severity_ts; DROP INDEX alerts_source_addr; DROP INDEX alerts_destination_addr;
      CREATE INDEX alerts_score ON alerts (score, id); CREATE INDEX alerts_severity ON alerts (severity_rank, id);
      CREATE INDEX alerts_source_ip ON alerts (source_ip); CREATE INDEX alerts_destination_ip ON alerts (destination_ip);
      CREATE INDEX alerts_source_ip_key ON alerts (source_ip_key); CREATE INDEX alerts_destination_ip_key ON alerts (destination_ip_key);`);
    raw.close();

    const reopened = openEmbeddedStore({ path });
    const check = new Database(path, { readonly: true });
    const names = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' AND name LIKE 'alerts_%'").all() as { name: string }[]).map((r) => r.name);
    check.close();
    expect(names).toEqual(expect.arrayContaining(['alerts_score_ts', 'alerts_severity_ts', 'alerts_source_addr', 'alerts_destination_addr']));
    for (const gone of ['alerts_score', 'alerts_severity', 'alerts_source_ip', 'alerts_destination_ip', 'alerts_source_ip_key', 'alerts_destination_ip_key']) expect(names).not.toContain(gone);
    const bySource = (await reopened.aggregate(AlertQuery.parse({}), { interval: '1d', size: 100 })).by_source.reduce((n, b) => n + b.count, 0);
    expect(bySource).toBe(alerts.filter((a) => a.source?.ip !== undefined).length);
    expect((await reopened.search(AlertQuery.parse({ sort: 'score', limit: 1000 }))).total).toBe(alerts.length);
    await reopened.close();
  });
});

describe('embedded: durability', () => {
  it('keeps upserts and triage across a reopen of the file', async () => {
    const path = join(tempDir(), 'alerts.db');
    const alerts = buildAlerts(120, 3);
    const first = openEmbeddedStore({ path });
    await first.upsert(alerts);
    const triaged = (await first.triage((alerts[0] as (typeof alerts)[0]).id, { comment: 'seen' }, 'alice'))!.alert;
    const trail = await first.audit({ limit: 10 });
    const before = await first.search(AlertQuery.parse({ limit: 1000, q: 'scan*' }));
    await first.close();

    const reopened = openEmbeddedStore({ path });
    expect(await reopened.get(triaged.id)).toEqual(triaged);
    expect(await reopened.audit({ limit: 10 })).toEqual(trail);
    const all = await reopened.search(AlertQuery.parse({ limit: 1000 }));
    expect(all.total).toBe(alerts.length);
    // The FTS index is in the file too, not rebuilt in memory.
    expect(await reopened.search(AlertQuery.parse({ limit: 1000, q: 'scan*' }))).toEqual(before);
    await reopened.close();
  });
});

describe('embedded: the text index', () => {
  /** FTS5's own check of an external-content index against its table (rank 1: compare every row's text). */
  const integrity = (path: string, Database: typeof import('better-sqlite3')) => {
    const db = new Database(path);
    try {
      db.prepare("INSERT INTO alerts_fts (alerts_fts, rank) VALUES ('integrity-check', 1)").run();
    } finally {
      db.close();
    }
  };

  it('finds every alert by its text right after its upsert, and stays exact through re-upserts, duplicates and triage', async () => {
    const Database = (await import('better-sqlite3')).default;
    const path = join(tempDir(), 'alerts.db');
    const store = openEmbeddedStore({ path });
    const base = buildAlerts(400, 21).map((a, i) => ({ ...a, message: `${a.message} marker${i}` }));
    const hits = async (text: string) => (await store.search(AlertQuery.parse({ q: text, limit: 1000 }))).alerts.map((a) => a.id);
    for (let b = 0; b < 8; b++) {
      const fresh = base.slice(b * 50, b * 50 + 50);
      // A batch: 50 new alerts, one of them three times with new text, and re-upserts of stored ones
      // (half with new text, half unchanged).
      const older = base.slice(0, b * 50).filter((_, i) => i % 7 === b % 7);
      const reworded = older.filter((_, i) => i % 2 === 0).map((a) => ({ ...a, message: `${a.message} reworded${b}` }));
      const dup = fresh[10]!;
      const batch = [...fresh, ...reworded, ...older.filter((_, i) => i % 2 === 1), { ...dup, message: `${dup.message} again${b}` }, { ...dup, message: `${dup.message} last${b}` }];
      expect(await store.upsert(batch)).toEqual({ upserted: batch.length, failed: [] });
      for (const a of fresh) expect(await hits(a.message.split(' ').at(-1)!)).toEqual([a.id]);
      expect(await hits(`reworded${b}`)).toEqual(expect.arrayContaining(reworded.map((a) => a.id)));
      expect((await hits(`reworded${b}`)).length).toBe(reworded.length);
      expect(await hits(`last${b}`)).toEqual([dup.id]);
      expect(await hits(`again${b}`)).toEqual([]);
      if (b % 3 === 0) await store.triage(fresh[0]!.id, { status: 'acknowledged', comment: 'seen' }, 'alice');
      integrity(path, Database);
    }
    await store.close();
  });

  it('takes over a file whose rows were indexed by the former insert trigger', async () => {
    const Database = (await import('better-sqlite3')).default;
    const path = join(tempDir(), 'alerts.db');
    const old = buildAlerts(30, 22).map((a) => ({ ...a, message: `${a.message} oldrow` }));
    const next = buildAlerts(30, 23).map((a) => ({ ...a, message: `${a.message} newrow` }));
    await openEmbeddedStore({ path }).close();
    // Rows written as the previous release did: each indexed by a row trigger.
    const db = new Database(path);
    db.exec(`CREATE TRIGGER alerts_fts_insert AFTER INSERT ON alerts BEGIN
      INSERT INTO alerts_fts (rowid, message, rule_name, summary) VALUES (new.seq, new.message, new.rule_name, new.summary); END`);
    const insert = db.prepare(`INSERT INTO alerts (id, doc, ts_ms, first_seen_ms, last_seen_ms, severity, severity_rank, score, detector, rule_id, rule_name, message, summary, origin, tlp, status, count)
      VALUES (?, ?, 0, 0, 0, 'low', 1, 0.5, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const a of old) insert.run(a.id, JSON.stringify(a), a.detector, a.rule.id, a.rule.name, a.message, a.explanation.summary, a.origin.soc, a.tlp, a.status, a.count);
    db.close();
    // Opening drops the trigger before any write: new rows are indexed once, by their batch.
    const store = openEmbeddedStore({ path });
    await store.upsert([...next, ...old.slice(0, 5).map((a) => ({ ...a, message: a.message.replace('oldrow', 'newrow') }))]);
    expect((await store.search(AlertQuery.parse({ q: 'newrow', limit: 1000 }))).total).toBe(35);
    expect((await store.search(AlertQuery.parse({ q: 'oldrow', limit: 1000 }))).total).toBe(25);
    await store.close();
    integrity(path, Database);
  });
});

describe('embedded: SQL translation of the query language', () => {
  it('binds every value as a parameter and quotes FTS5 phrases', () => {
    const sql = toSql(parseQuery('Port "lateral  MOVEMENT" exfil* -host.name:we[b* OR message:x source.ip:10.0.0.0/8'), 0);
    expect(sql.params).toEqual(['"port"', '"lateral movement"', '"exfil"*', 'we[[]b*', 'message : "x"', '40a000000', '40affffff']);
    expect(sql.sql).not.toMatch(/port|lateral|10\.0/);
  });

  it('keeps the audit trail append-only in the database itself', async () => {
    const path = join(tempDir(), 'alerts.db');
    const store = openEmbeddedStore({ path });
    const [a] = buildAlerts(1, 4);
    await store.upsert([a!]);
    await store.triage(a!.id, { comment: 'x' }, 'alice');
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    expect(() => db.prepare('UPDATE audit SET actor = ?').run('mallory')).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    db.close();
  });

  it('adds the new columns to a store file from before them', async () => {
    const path = join(tempDir(), 'alerts.db');
    const Database = (await import('better-sqlite3')).default;
    const [a] = buildAlerts(1, 5);
    const db = new Database(path);
    db.exec(`CREATE TABLE alerts (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL, ts_ms INTEGER NOT NULL, first_seen_ms INTEGER NOT NULL,
      last_seen_ms INTEGER NOT NULL, severity TEXT NOT NULL, severity_rank INTEGER NOT NULL, score REAL NOT NULL, detector TEXT NOT NULL, rule_id TEXT NOT NULL,
      rule_name TEXT NOT NULL, message TEXT NOT NULL, summary TEXT NOT NULL, host TEXT, source_ip TEXT, destination_ip TEXT, origin TEXT NOT NULL, tlp TEXT NOT NULL,
      status TEXT NOT NULL, count INTEGER NOT NULL)`);
    db.prepare(`INSERT INTO alerts (id, doc, ts_ms, first_seen_ms, last_seen_ms, severity, severity_rank, score, detector, rule_id, rule_name, message, summary, source_ip, origin, tlp, status, count)
      VALUES (?, ?, 0, 0, 0, 'low', 1, 0.5, 'x', 'r', 'n', 'm', 's', '10.9.8.7', 'o', 'AMBER', 'new', 1)`).run(a!.id, JSON.stringify(a));
    db.close();
    const store = openEmbeddedStore({ path });
    expect((await store.search(AlertQuery.parse({ q: 'source.ip:10.9.0.0/16' }))).total).toBe(1);
    await store.close();
  });
});
