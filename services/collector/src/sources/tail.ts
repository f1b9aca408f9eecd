import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { retry } from '@soc/errors';
import { isEmptyLine, isGzipPath, readLines, zeekPathFromFileName, ZeekTsvReader, type Format } from '@soc/parsers';
import type { Logger } from '@soc/telemetry';
import { identify, loadCheckpoints, sameFile, saveCheckpoints, type FileCheckpoint, type Identity } from './checkpoint.ts';
import type { Ingest, IngestContext, RawLine } from './types.ts';

/**
 * File tailing with persisted checkpoints. Delivery: at-least-once. A checkpoint advances only
 * after the submit of the lines before it resolved, so a crash or bus outage re-reads (never
 * skips) lines; a crash between a submit and its checkpoint write re-sends that one batch, which
 * the deterministic event ids make idempotent downstream. A clean stop/start neither loses nor
 * repeats a line.
 *
 * Rotation (the path now names another file): the old file is read to its end through the open
 * descriptor, then the new one from byte 0. If rotation happened while the tailer was stopped,
 * the old file is looked for among its siblings (`conn.log.1`) by identity and finished first.
 * Truncation (size below the offset): restart at 0; lines written and truncated between two
 * polls are lost — copytruncate rotation is inherently racy. A last line without newline is held
 * until its newline arrives (or the file is rotated away). `.gz` files are replayed once.
 */

export interface TailFile {
  path: string;
  format: Format;
}

export interface TailerOptions {
  ingest: Ingest;
  files: TailFile[];
  checkpointPath: string;
  pollIntervalMs: number;
  logger: Logger;
  /** A file without checkpoint is read from its start (true) or from its current end (false, default, like `tail -f`). */
  fromBeginning?: boolean;
  batchLines?: number;
  /** Longer lines are dead-lettered as a prefix with a reason. */
  maxLineBytes?: number;
  submitAttempts?: number;
}

export interface Tailer {
  /** One pass over every file (what the timer does); resolves when it is done. */
  pollOnce(): Promise<void>;
  close(): Promise<void>;
}

interface Open {
  fh: FileHandle;
  ident: Identity;
  offset: number;
  line: number;
  tsv: ZeekTsvReader;
  /** Inside an over-long line whose prefix was already dead-lettered. */
  skipping: boolean;
}

const CHUNK = 1 << 20;

interface Line {
  text: string;
  /** Index in the chunk of the first byte of the line. */
  start: number;
  /** File offset just after the line (its newline included). */
  end: number;
  /** An over-long line whose newline is not in this chunk. */
  partial?: boolean;
}

function splitLines(buf: Buffer, base: number): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    let line = buf.subarray(start, nl);
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    out.push({ text: line.toString('utf8'), start, end: base + nl + 1 });
    start = nl + 1;
  }
  return out;
}

export async function startTailer(opts: TailerOptions): Promise<Tailer> {
  const log = opts.logger;
  const batchLines = opts.batchLines ?? 1000;
  const maxLine = Math.min(opts.maxLineBytes ?? CHUNK, CHUNK);
  const checkpoints = await loadCheckpoints(opts.checkpointPath);
  const opened = new Map<string, Open>();

  const ctxFor = (spec: TailFile, tsv?: ZeekTsvReader): IngestContext => ({
    source: `file:${spec.path}`,
    format: spec.format,
    zeekPath: zeekPathFromFileName(spec.path),
    zeekTsv: tsv?.header,
  });

  const submit = (lines: RawLine[], ctx: IngestContext) =>
    retry(() => opts.ingest.submit(lines, ctx), {
      retries: opts.submitAttempts ?? 5,
      onRetry: (err, attempt) => log.warn({ err, attempt, source: ctx.source }, 'tail batch not accepted, retrying'),
    });

  const commit = async (path: string, cp: FileCheckpoint) => {
    checkpoints.set(path, cp);
    await saveCheckpoints(opts.checkpointPath, checkpoints);
  };

  /** Reads complete lines from the committed offset; with `final` the unterminated rest too. */
  async function drain(spec: TailFile, f: Open, final: boolean): Promise<void> {
    const tsvAware = spec.format === 'zeek' || spec.format === 'auto';
    for (;;) {
      const { size } = await f.fh.stat();
      if (f.offset >= size) return;
      const len = Math.min(size - f.offset, CHUNK);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await f.fh.read(buf, 0, len, f.offset);
      const data = buf.subarray(0, bytesRead);
      const lines = splitLines(data, f.offset);
      const tailEnd = lines.length ? lines[lines.length - 1]!.end - f.offset : 0;
      if (data.length - tailEnd > maxLine) {
        lines.push({ text: '', start: tailEnd, end: f.offset + data.length, partial: true });
      } else if (final && tailEnd < data.length) {
        lines.push({ text: data.subarray(tailEnd).toString('utf8').replace(/\r$/, ''), start: tailEnd, end: f.offset + data.length });
      }
      if (!lines.length) return; // a partial line: wait for its newline
      let batch: RawLine[] = [];
      const flush = async (end: number) => {
        if (batch.length) await submit(batch, ctxFor(spec, f.tsv));
        batch = [];
        f.offset = end;
        await commit(spec.path, { ...f.ident, offset: f.offset, line: f.line });
      };
      let prevEnd = f.offset;
      for (const l of lines) {
        if (f.skipping) {
          // The rest of an over-long line whose prefix was dead-lettered.
          f.skipping = l.partial === true;
        } else if (l.partial || l.end - prevEnd - 1 > maxLine) {
          f.line++;
          batch.push({ raw: data.subarray(l.start, l.start + maxLine).toString('utf8'), line: f.line, rejectReason: `line exceeds ${maxLine} bytes` });
          f.skipping = l.partial === true;
        } else if (tsvAware && l.text.startsWith('#')) {
          // A header line changes the context: what came before goes out under the old header.
          f.line++;
          if (batch.length) await flush(prevEnd);
          f.tsv.accept(l.text);
        } else {
          f.line++;
          if (!isEmptyLine(l.text)) batch.push({ raw: l.text, line: f.line });
        }
        prevEnd = l.end;
        if (batch.length >= batchLines) await flush(l.end);
      }
      await flush(lines[lines.length - 1]!.end);
    }
  }

  /** A Zeek TSV header is only at the top of a file: re-read it when resuming mid-file. */
  async function readHeader(fh: FileHandle, upTo: number): Promise<ZeekTsvReader> {
    const reader = new ZeekTsvReader();
    const len = Math.min(upTo, 64 * 1024);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, 0);
    for (const l of splitLines(buf.subarray(0, bytesRead), 0)) {
      if (!l.text.startsWith('#')) break;
      reader.accept(l.text);
    }
    return reader;
  }

  async function openAt(fh: FileHandle, offset: number, line: number): Promise<Open> {
    return { fh, ident: await identify(fh), offset, line, tsv: offset > 0 ? await readHeader(fh, offset) : new ZeekTsvReader(), skipping: false };
  }

  /** The file a checkpoint describes, if it was rotated to a sibling name while we were stopped. */
  async function findRotated(path: string, cp: FileCheckpoint): Promise<FileHandle | undefined> {
    const dir = dirname(path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n !== basename(path) && n.startsWith(basename(path)))) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (!st || st.ino !== cp.ino || st.dev !== cp.dev) continue;
      const fh = await open(join(dir, name), 'r');
      if (await sameFile(fh, cp)) return fh;
      await fh.close();
    }
    return undefined;
  }

  async function openFirst(spec: TailFile): Promise<Open | undefined> {
    const fh = await open(spec.path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!fh) return undefined;
    const cp = checkpoints.get(spec.path);
    if (cp && (await sameFile(fh, cp))) return openAt(fh, Math.min(cp.offset, (await fh.stat()).size), cp.line);
    if (cp) {
      const old = await findRotated(spec.path, cp);
      if (old) {
        log.info({ path: spec.path }, 'finishing a file rotated while stopped');
        const f = await openAt(old, cp.offset, cp.line);
        await drain(spec, f, true);
        await old.close();
      }
      return openAt(fh, 0, 0);
    }
    return openAt(fh, opts.fromBeginning ? 0 : (await fh.stat()).size, 0);
  }

  async function pollFile(spec: TailFile): Promise<void> {
    let f = opened.get(spec.path);
    if (!f) {
      f = await openFirst(spec);
      if (!f) return;
      opened.set(spec.path, f);
    }
    const { size } = await f.fh.stat();
    if (size < f.offset) {
      log.warn({ path: spec.path, size, offset: f.offset }, 'file truncated: reading from the start');
      Object.assign(f, await openAt(f.fh, 0, 0));
    }
    await drain(spec, f, false);
    const now = await stat(spec.path).catch(() => undefined);
    if (now && (now.ino !== f.ident.ino || now.dev !== f.ident.dev)) {
      log.info({ path: spec.path }, 'file rotated: finishing the old one');
      await drain(spec, f, true);
      await f.fh.close();
      const fh = await open(spec.path, 'r');
      const next = await openAt(fh, 0, 0);
      opened.set(spec.path, next);
      await drain(spec, next, false);
    }
  }

  /** A .gz file is replayed once; its checkpoint counts lines, since there is no byte offset to seek to. */
  async function replayGzip(spec: TailFile): Promise<void> {
    const fh = await open(spec.path, 'r');
    let ident: Identity;
    try {
      ident = await identify(fh);
      const cp = checkpoints.get(spec.path);
      const same = cp && (await sameFile(fh, cp));
      if (same && cp.done) return;
      let line = same ? cp.line : 0;
      const skip = line;
      const tsv = new ZeekTsvReader();
      let batch: RawLine[] = [];
      let n = 0;
      const flush = async () => {
        if (batch.length) await submit(batch, ctxFor(spec, tsv));
        batch = [];
        line = n;
        await commit(spec.path, { ...ident, offset: 0, line });
      };
      for await (const text of readLines(spec.path)) {
        n++;
        if (text.startsWith('#') && (spec.format === 'zeek' || spec.format === 'auto') && tsv.accept(text) === 'directive') {
          if (n > skip) await flush();
          continue;
        }
        if (n <= skip || isEmptyLine(text)) continue;
        batch.push({ raw: text, line: n });
        if (batch.length >= batchLines) await flush();
      }
      await flush();
      await commit(spec.path, { ...ident, offset: 0, line: n, done: true });
    } finally {
      await fh.close();
    }
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const pollOnce = (): Promise<void> => {
    running = running.then(async () => {
      for (const spec of opts.files) {
        if (stopped) return;
        try {
          await (isGzipPath(spec.path) ? replayGzip(spec) : pollFile(spec));
        } catch (err) {
          // The offset did not move: the next poll retries from the same place.
          log.error({ err, path: spec.path }, 'tailing failed; will retry');
        }
      }
    });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void pollOnce().finally(schedule), opts.pollIntervalMs);
  };
  await pollOnce();
  schedule();

  return {
    pollOnce,
    async close() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.all([...opened.values()].map((f) => f.fh.close()));
      opened.clear();
    },
  };
}
