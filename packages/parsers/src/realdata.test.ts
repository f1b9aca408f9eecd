import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EcsEvent } from '@soc/schema';
import { readLines } from './io.ts';
import { normaliseBatch } from './parse.ts';
import { expectOk, identity } from './testing.ts';
import { zeekPathFromFileName } from './zeek/record.ts';

const DIR = new URL('../../../../shared/data/zeek-wrccdc-2018/', import.meta.url).pathname;
const HAVE = existsSync(DIR);
if (!HAVE) console.warn(`skipping real Zeek data tests: ${DIR} not found`);

/** Line counts the data set's README states; each file's own line count is checked against them too. */
const README_LINES: Record<string, number> = {
  ssh: 22, notice: 207, weird: 24202, syslog: 2378, rdp: 4122, smtp: 1188, ntlm: 422, kerberos: 11,
  ftp: 93, dce_rpc: 78, known_services: 1579, software: 376, x509: 348, ntp: 904,
};

async function linesOf(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(join(DIR, file))) out.push(l);
  return out;
}

describe.skipIf(!HAVE)('real Zeek logs (WRCCDC 2018)', () => {
  for (const [log, expected] of Object.entries(README_LINES)) {
    it(`${log}.json.gz: every line normalised or rejected with a reason`, async () => {
      const lines = await linesOf(`${log}.json.gz`);
      expect(lines.length).toBe(expected);
      const { outcomes, stats } = normaliseBatch(lines, { format: 'auto', source: `file:${log}`, zeekPath: zeekPathFromFileName(`${log}.json.gz`) });
      expect(stats.parsed + stats.rejected).toBe(lines.length);
      expect(stats.rejected, JSON.stringify(stats.reasons)).toBe(0);
      for (const o of outcomes) {
        const e = expectOk(o);
        expect(e.event.dataset).toBe(`zeek.${log}`);
        expect(EcsEvent.safeParse(e).success).toBe(true);
      }
    });
  }

  it('every file in the folder is covered', () => {
    const logs = readdirSync(DIR).filter((f) => f.endsWith('.json.gz')).map((f) => zeekPathFromFileName(f));
    expect(logs.sort()).toEqual(Object.keys(README_LINES).sort());
  });

  it('ssh.json.gz and ssh.tsv.log.gz normalise to identical events', async () => {
    const ctx = { format: 'zeek' as const, source: 'file:ssh' };
    const json = normaliseBatch(await linesOf('ssh.json.gz'), ctx);
    const tsv = normaliseBatch(await linesOf('ssh.tsv.log.gz'), ctx);
    expect(tsv.stats).toMatchObject({ parsed: 22, rejected: 0 });
    const a = json.outcomes.map((o) => identity(expectOk(o)));
    const b = tsv.outcomes.filter((o) => o !== null).map((o) => identity(expectOk(o)));
    expect(b).toEqual(a);
    expect(a).toHaveLength(22);
  });
});
