import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHIPPED_VERSION, activateModel, rollbackModel } from '@soc/model';
import { createLogger } from '@soc/telemetry';
import { switchingAnalyzer, type EvidenceModel } from '../../services/detector/src/index.ts';
import { loadReference } from '../../models/evidence.ts';
import { fitSite } from '../../models/site.ts';
import { readZeekEvents, flowsOf } from '../../services/soc/src/eval-conn.ts';
import { enterpriseCapture } from '../helpers/enterprise.ts';

/** `soc model rollback` to the shipped model must reach the running detector, not only active.json. */
describe('detector model slot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soc-rollback-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('switches to a site model and back to the shipped one on rollback, between batches', async () => {
    const file = join(dir, 'capture.conn.log');
    writeFileSync(file, enterpriseCapture({ seed: 4, hours: 1, hosts: 5 }).lines.join('\n') + '\n');
    const events = await readZeekEvents([file]);
    await fitSite(flowsOf(events), dir, { version: 'site-r', sources: [file] });
    // The shipped reference, observed: its calibration is read for every batch it scores.
    let shippedBatches = 0;
    const reference = loadReference();
    const shipped: EvidenceModel = { version: 'evidence-reference-v1', get calibration() { shippedBatches++; return reference; } };
    const slot = await switchingAnalyzer({ dir, shipped, origin: { soc: 'soc-test' }, tlp: 'AMBER', logger: createLogger('test', { level: 'silent' }), pollMs: 50 });
    try {
      const batch = events.slice(0, 50);
      /** Analyzes batches until `which` model takes one (the slot loads in the background and swaps between batches). */
      const until = async (which: 'site' | 'shipped') => {
        for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
          const before = shippedBatches;
          await slot.analyze(batch);
          if ((shippedBatches > before) === (which === 'shipped')) return;
        }
        throw new Error(`the ${which} model never took a batch`);
      };
      await until('shipped');
      await activateModel(dir, 'site-r');
      await until('site');
      expect((await rollbackModel(dir)).version).toBe(SHIPPED_VERSION);
      await until('shipped');
    } finally {
      await slot.close?.();
    }
  }, 120_000);
});
