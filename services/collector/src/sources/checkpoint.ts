import { createHash } from 'node:crypto';
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { z } from '@soc/schema';

/**
 * Where a tailer is in each file. A file is identified by device + inode and a hash of its
 * first bytes (an inode freed by a deleted log can be reused by a new one); the offset is the
 * byte after the last line whose submit resolved.
 */
export const FileCheckpoint = z.object({
  dev: z.number(),
  ino: z.number(),
  /** sha256 of the first `headLen` bytes. */
  head: z.string(),
  headLen: z.number().int().min(0),
  offset: z.number().int().min(0),
  /** Lines consumed so far (line numbers for dead letters; the resume point of a .gz file). */
  line: z.number().int().min(0),
  /** A .gz file replayed to its end. */
  done: z.boolean().optional(),
});
export type FileCheckpoint = z.infer<typeof FileCheckpoint>;

const CheckpointFile = z.object({ version: z.literal(1), files: z.record(z.string(), FileCheckpoint) });
type CheckpointFile = z.infer<typeof CheckpointFile>;

export type Identity = Pick<FileCheckpoint, 'dev' | 'ino' | 'head' | 'headLen'>;

const HEAD_BYTES = 1024;

async function headHash(fh: FileHandle, len: number): Promise<string> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, 0);
  return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
}

/** The identity of an open file, over as many head bytes as it has (up to 1 KiB). */
export async function identify(fh: FileHandle): Promise<Identity> {
  const st = await fh.stat();
  const headLen = Math.min(st.size, HEAD_BYTES);
  return { dev: st.dev, ino: st.ino, headLen, head: await headHash(fh, headLen) };
}

/** Whether an open file is the one a checkpoint describes (compared over the checkpoint's head length). */
export async function sameFile(fh: FileHandle, cp: Identity): Promise<boolean> {
  const st = await fh.stat();
  if (st.dev !== cp.dev || st.ino !== cp.ino || st.size < cp.headLen) return false;
  return (await headHash(fh, cp.headLen)) === cp.head;
}

export async function loadCheckpoints(path: string): Promise<Map<string, FileCheckpoint>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const parsed = CheckpointFile.parse(JSON.parse(text));
  return new Map(Object.entries(parsed.files));
}

/** Write to a temporary file, flush it to disk, then rename over the old one: never half a file. */
export async function saveCheckpoints(path: string, files: Map<string, FileCheckpoint>): Promise<void> {
  const body: CheckpointFile = { version: 1, files: Object.fromEntries(files) };
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(body));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
