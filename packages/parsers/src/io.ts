import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Whether a path names a gzip file (read once, decompressed, never tailed). */
export const isGzipPath = (path: string): boolean => path.endsWith('.gz');

/**
 * The lines of a file, transparently gunzipping `.gz` files; CRLF endings are stripped.
 * Streams, so files of any size use constant memory.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const raw = createReadStream(path);
  const input = isGzipPath(path) ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (err) => input.destroy(err));
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    raw.destroy();
  }
}
