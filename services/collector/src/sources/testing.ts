import { createLogger } from '@soc/telemetry';
import type { Ingest, IngestContext, IngestResult, RawLine } from './types.ts';

/** Test doubles for the sources (not used in production code). */
export const silentLogger = createLogger('collector-sources-test', { level: 'silent' });

/** An Ingest that records every submitted line; `failNext` makes the next submits reject. */
export class RecordingIngest implements Ingest {
  readonly calls: { lines: RawLine[]; ctx: IngestContext }[] = [];
  failNext = 0;
  delayMs = 0;

  get lines(): (RawLine & { ctx: IngestContext })[] {
    return this.calls.flatMap((c) => c.lines.map((l) => ({ ...l, ctx: c.ctx })));
  }

  async submit(lines: RawLine[], ctx: IngestContext): Promise<IngestResult> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('bus down (test)'), { retriable: true });
    }
    this.calls.push({ lines: [...lines], ctx });
    const rejected = lines.filter((l) => l.rejectReason).length;
    return { accepted: lines.length - rejected, rejected, errors: [] };
  }
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}
