import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertQuery } from './port.ts';
import { storeConformance } from './conformance.ts';
import { openEmbeddedStore, toFts5Query } from './embedded.ts';
import { buildAlerts } from './fixtures.ts';
import { parseFreeText } from './query.ts';

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
    const triaged = await first.setStatus((alerts[0] as (typeof alerts)[0]).id, 'resolved');
    const before = await first.search(AlertQuery.parse({ limit: 1000, q: 'scan*' }));
    await first.close();

    const reopened = openEmbeddedStore({ path });
    expect(await reopened.get(triaged!.id)).toEqual(triaged);
    const all = await reopened.search(AlertQuery.parse({ limit: 1000 }));
    expect(all.total).toBe(alerts.length);
    // The FTS index is in the file too, not rebuilt in memory.
    expect(await reopened.search(AlertQuery.parse({ limit: 1000, q: 'scan*' }))).toEqual(before);
    await reopened.close();
  });
});

describe('embedded: FTS5 query building', () => {
  it('quotes every clause and marks prefixes', () => {
    expect(toFts5Query(parseFreeText('Port "lateral  MOVEMENT" exfil* foo-ba* AND OR NOT'))).toBe(
      '"port" AND "lateral movement" AND "exfil"* AND "foo" AND "ba"* AND "and" AND "or" AND "not"',
    );
  });
});
