import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTailer, type Tailer, type TailerOptions } from './tail.ts';
import { RecordingIngest, silentLogger } from './testing.ts';

let dir: string;
let tailers: Tailer[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'soc-tail-'));
});
afterEach(async () => {
  await Promise.all(tailers.map((t) => t.close()));
  tailers = [];
  rmSync(dir, { recursive: true, force: true });
});

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

async function start(ingest: RecordingIngest, extra: Partial<TailerOptions> = {}): Promise<Tailer> {
  const t = await startTailer({ ingest, files: [{ path: join(dir, 'app.log'), format: 'syslog' }], checkpointPath: join(dir, 'cp.json'), pollIntervalMs: 3_600_000, logger: silentLogger, fromBeginning: true, batchLines: 7, ...extra });
  tailers.push(t);
  return t;
}

describe('tailer', () => {
  it('append, partial lines, rotation, truncation: every line exactly once', async () => {
    const path = join(dir, 'app.log');
    const ingest = new RecordingIngest();
    writeFileSync(path, text(lines(0, 20)) + 'line 2');
    const t = await start(ingest);
    expect(ingest.lines.map((l) => l.raw)).toEqual(lines(0, 20));
    appendFileSync(path, '0\n' + text(lines(21, 30)));
    await t.pollOnce();
    expect(ingest.lines.map((l) => l.raw)).toEqual([...lines(0, 20), 'line 20', ...lines(21, 30)]);
    // Rotation: lines appended to the old file after the last poll are still read, then the new file.
    appendFileSync(path, text(lines(30, 35)));
    renameSync(path, `${path}.1`);
    writeFileSync(path, text(lines(35, 40)));
    await t.pollOnce();
    // Truncation (copytruncate): start again at 0.
    truncateSync(path, 0);
    await t.pollOnce();
    appendFileSync(path, text(lines(40, 43)));
    await t.pollOnce();
    const got = ingest.lines.map((l) => l.raw);
    expect(got).toEqual([...lines(0, 20), 'line 20', ...lines(21, 43)]);
    expect(ingest.calls.every((c) => c.ctx.source === `file:${path}` && c.ctx.format === 'syslog')).toBe(true);
    expect(ingest.lines.slice(0, 3).map((l) => l.line)).toEqual([1, 2, 3]);
  });

  it('submits every non-empty line, whitespace-only ones too (plain and gzip files)', async () => {
    const odd = ['\v', '\f', '\u2028', ' ', '\u00a0', 'x'];
    const content = ['', ...odd, '\r', ''].join('\n');
    writeFileSync(join(dir, 'app.log'), content);
    writeFileSync(join(dir, 'old.log.gz'), gzipSync(content));
    const ingest = new RecordingIngest();
    await start(ingest, { files: [{ path: join(dir, 'app.log'), format: 'syslog' }, { path: join(dir, 'old.log.gz'), format: 'syslog' }] });
    const byFile = (f: string) => ingest.lines.filter((l) => l.ctx.source.endsWith(f)).map((l) => l.raw);
    expect(byFile('app.log')).toEqual(odd);
    expect(byFile('old.log.gz')).toEqual(odd);
  });

  it('restart mid-file resumes from the checkpoint: nothing lost, nothing twice', async () => {
    const path = join(dir, 'app.log');
    const ingest = new RecordingIngest();
    writeFileSync(path, text(lines(0, 10)));
    const t1 = await start(ingest);
    await t1.close();
    appendFileSync(path, text(lines(10, 25)) + 'line 2');
    const t2 = await start(ingest);
    appendFileSync(path, '5\n');
    await t2.pollOnce();
    await t2.close();
    // Rotated while stopped: the old file is found by identity and finished first.
    appendFileSync(path, text(lines(26, 30)));
    renameSync(path, `${path}.1`);
    writeFileSync(path, text(lines(30, 33)));
    await start(ingest);
    expect(ingest.lines.map((l) => l.raw)).toEqual(lines(0, 33));
    const cp = JSON.parse(readFileSync(join(dir, 'cp.json'), 'utf8')) as { files: Record<string, { offset: number }> };
    expect(cp.files[path]!.offset).toBe(Buffer.byteLength(text(lines(30, 33))));
  });

  it('a failing bus moves no checkpoint: the lines come again on the next poll', async () => {
    const path = join(dir, 'app.log');
    const ingest = new RecordingIngest();
    writeFileSync(path, text(lines(0, 5)));
    ingest.failNext = 100;
    const t = await start(ingest, { submitAttempts: 1 });
    expect(ingest.lines).toHaveLength(0);
    ingest.failNext = 0;
    await t.pollOnce();
    expect(ingest.lines.map((l) => l.raw)).toEqual(lines(0, 5));
  });

  it('over-long lines are dead-lettered as a prefix with a reason', async () => {
    const path = join(dir, 'app.log');
    const ingest = new RecordingIngest();
    writeFileSync(path, `short\n${'x'.repeat(100)}\nafter\n`);
    await start(ingest, { maxLineBytes: 50 });
    expect(ingest.lines.map((l) => [l.raw.length, l.rejectReason])).toEqual([[5, undefined], [50, 'line exceeds 50 bytes'], [5, undefined]]);
  });

  it('zeek TSV: the header is tracked, and re-read when resuming mid-file; .gz replayed once', async () => {
    const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tssh', '#fields\tts\tuid', '#types\ttime\tstring'];
    const path = join(dir, 'ssh.log');
    writeFileSync(path, text([...header, '1.0\tC1']));
    const ingest = new RecordingIngest();
    const files = [{ path, format: 'zeek' as const }, { path: join(dir, 'old.json.gz'), format: 'zeek' as const }];
    writeFileSync(files[1]!.path, gzipSync(text(['{"ts":1,"uid":"G1","auth_success":true}', '{"ts":2,"uid":"G2","auth_success":false}'])));
    const t1 = await start(ingest, { files });
    await t1.close();
    appendFileSync(path, text(['2.0\tC2']));
    await start(ingest, { files });
    expect(ingest.lines.map((l) => l.raw)).toEqual(['1.0\tC1', '{"ts":1,"uid":"G1","auth_success":true}', '{"ts":2,"uid":"G2","auth_success":false}', '2.0\tC2']);
    const tsvCalls = ingest.calls.filter((c) => c.ctx.source === `file:${path}`);
    expect(tsvCalls.every((c) => c.ctx.zeekTsv?.path === 'ssh' && c.ctx.zeekTsv.fields.join() === 'ts,uid')).toBe(true);
    expect(ingest.calls.find((c) => c.ctx.source.endsWith('.gz'))!.ctx.zeekPath).toBe('old');
  });
});
