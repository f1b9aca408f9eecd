import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReference, REFERENCE_CAPTURES } from '@soc/models/reference';
import { evaluateEvents, fitAndLoad, readLabels, readZeekEvents, shippedModel, type EvalResult } from '@soc/cli/eval-conn';

/**
 * `pnpm eval:real [--json]`: every capture of ../shared/data/zeek-real in both modes — fitted on
 * itself (`soc model fit`, then replay), and out of the box (the shipped reference) — through the
 * detector's own analyzer. A capture the reference was built from is scored out of the box by a
 * reference rebuilt without it (leave one day out), so no row is scored by tails it trained.
 * Bad destinations: per-flow labels where published, else the source README's description.
 */
const DATA = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/data/zeek-real');

/** Ground truth the unlabelled captures' publishers state in their READMEs (see the data README). */
const DESCRIBED_BAD: Record<string, string[]> = {
  'android-rat-androidtester': ['147.32.83.234'],
};

export interface Row extends EvalResult {
  capture: string;
}

export async function evalReal(data = DATA, log: (s: string) => void = () => {}): Promise<Row[]> {
  const rows: Row[] = [];
  for (const capture of readdirSync(data).filter((d) => existsSync(join(data, d, 'conn.log.gz'))).sort()) {
    const dir = join(data, capture);
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log.gz')).map((f) => join(dir, f));
    const events = await readZeekEvents(logs);
    const labels = existsSync(join(dir, 'labels.tsv.gz')) ? await readLabels(join(dir, 'labels.tsv.gz')) : undefined;
    const truth = { bad: DESCRIBED_BAD[capture] ?? [], ...(labels ? { labels } : {}) };
    log(`eval:real ${capture}: ${events.length} events`);
    const shipped = shippedModel();
    if (REFERENCE_CAPTURES.includes(capture)) {
      const others = REFERENCE_CAPTURES.filter((c) => c !== capture).map((c) => join(data, c));
      shipped.calibration = await buildReference(others);
      shipped.version = `evidence-reference-without-${capture}`;
    }
    rows.push({ capture, ...(await evaluateEvents(events, shipped, { ...truth, mode: 'out-of-the-box' })) });
    const tmp = await mkdtemp(join(tmpdir(), 'soc-eval-real-'));
    try {
      const site = await fitAndLoad(events, tmp, `fit-${capture}`, logs);
      try {
        rows.push({ capture, ...(await evaluateEvents(events, site, { ...truth, mode: 'fitted-on-itself' })) });
      } finally {
        await site.model?.close();
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return rows;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
const mins = (s: number | undefined) => (s === undefined ? '–' : `${(s / 60).toFixed(1)} min`);

export function markdown(rows: Row[]): string {
  const head = '| capture | mode | flows | hours | C2 alerted | plain dests alerted | benign dests alerted | alerts/hour | alerts (by rule) | median first alert |\n|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => `| ${r.capture} | ${r.mode} | ${r.flows} | ${r.hours} | ${r.bad_destinations ? `${r.bad_alerted}/${r.bad_destinations}` : '–'} | ${pct(r.plain_alerted_share)} of ${r.plain_destinations} | ${pct(r.benign_alerted_share)} of ${r.destinations - r.bad_destinations} | ${r.alerts_per_hour} | ${r.alerts} (${Object.entries(r.alerts_by_rule).map(([k, v]) => `${k} ${v}`).join(', ') || '–'}) | ${mins(r.median_first_alert_s)} |`);
  return [head, ...lines].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync(DATA)) {
    process.stderr.write(`eval:real: ${DATA} is absent (the real captures are not on this machine)\n`);
    process.exit(1);
  }
  const rows = await evalReal(DATA, (s) => process.stderr.write(`${s}\n`));
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(rows)}\n` : `${markdown(rows)}\n`);
}
