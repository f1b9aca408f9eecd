import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertQuery } from './port.ts';
import { storeConformance } from './conformance.ts';
import { parseQuery } from '@soc/query';
import { openEmbeddedStore } from './embedded.ts';
import { buildAlerts } from './fixtures.ts';
import { toSql } from './sql-query.ts';

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
