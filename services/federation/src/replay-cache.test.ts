import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteReplayCache } from './replay-cache.ts';

describe('SqliteReplayCache', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'replay-'));
    path = join(dir, 'replay.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers committed ids across reopen until they expire', () => {
    const a = new SqliteReplayCache(path);
    a.add('soc-ee/m1', 2000);
    a.commit(0);
    a.close();
    const b = new SqliteReplayCache(path);
    expect(b.has('soc-ee/m1', 1000)).toBe(true);
    expect(b.has('soc-ee/m2', 1000)).toBe(false);
    expect(b.has('soc-ee/m1', 2000)).toBe(false);
    b.close();
  });

  it('shows staged ids at once but forgets them on discard, so a failed batch is accepted again', () => {
    const c = new SqliteReplayCache(path);
    c.add('soc-lv/m1', 5000);
    expect(c.has('soc-lv/m1', 0)).toBe(true);
    c.discard();
    expect(c.has('soc-lv/m1', 0)).toBe(false);
    c.add('soc-lv/m1', 5000);
    c.close();
    // Never committed: a crash before commit leaves nothing behind.
    const d = new SqliteReplayCache(path);
    expect(d.has('soc-lv/m1', 0)).toBe(false);
    d.close();
  });

  it('prunes expired entries on commit and keeps the later expiry of a re-added id', () => {
    const c = new SqliteReplayCache(path);
    c.add('old', 100);
    c.add('keep', 10_000);
    c.commit(0);
    c.add('keep', 500);
    c.commit(200);
    expect(c.size).toBe(1);
    expect(c.has('keep', 9_000)).toBe(true);
    c.close();
  });
});
