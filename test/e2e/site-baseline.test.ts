import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHIPPED_VERSION, activateModel, listModelVersions, modelsDir, readActive, rollbackModel } from '@soc/model';
import { fitSite } from '../../models/site.ts';
import { loadReference } from '../../models/evidence.ts';
import { SHIPPED_MODEL } from '../../services/soc/src/runtime.ts';
import { ROOT, api, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';
import { enterpriseCapture, type EnterpriseOptions } from '../helpers/enterprise.ts';
import { evaluateEvents, fitAndLoad, flowsOf, readZeekEvents } from '../../services/soc/src/eval-conn.ts';

const dir = mkdtempSync(join(tmpdir(), 'soc-site-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fitted on the capture itself (infection active from its first hour), then replayed through it. */
async function run(o: EnterpriseOptions, version: string) {
  const c = enterpriseCapture(o);
  const file = join(dir, `${version}.conn.log`);
  writeFileSync(file, c.lines.join('\n') + '\n');
  const events = await readZeekEvents([file]);
  const site = await fitAndLoad(events, join(dir, 'models'), version, [file]);
  try {
    // Internet destinations of the threats; the scanned server is internal and gets a scan alert.
    return { c, r: await evaluateEvents(events, site, { bad: [c.c2, c.exfil] }) };
  } finally {
    await site.model?.close();
  }
}

describe('site baseline on a realistic enterprise capture with an active infection', () => {
  const variants: [string, EnterpriseOptions][] = [
    ['seed 1, 60 s beacon, 20 % jitter', { seed: 1, beaconPeriodS: 60, jitter: 0.2 }],
    ['seed 2, 300 s beacon, 30 % jitter', { seed: 2, beaconPeriodS: 300, jitter: 0.3 }],
    ['seed 5, 60 s beacon, 10 % jitter, C2 on 443-like odd port', { seed: 5, beaconPeriodS: 60, jitter: 0.1, c2Port: 8443, hosts: 20 }],
  ];
  it.each(variants)('%s: C2 and exfiltration alerted, the scan reported, plain destinations within 5 %%', async (_, o) => {
    const { c, r } = await run(o, `v${o.seed}`);
    expect(r.flows).toBe(c.lines.length);
    expect(r.first_alert_s?.[c.c2]).toBeDefined();
    expect(r.recall).toBeGreaterThanOrEqual(0.5);
    expect(r.alerts_by_rule['port-scan']).toBeGreaterThanOrEqual(1);
    expect(r.plain_alerted_share).toBeLessThanOrEqual(0.05);
    expect(r.median_first_alert_s).toBeLessThanOrEqual(3600);
  }, 120_000);

  it('registry: versions listed with metrics, activation and rollback', async () => {
    const models = join(dir, 'models');
    await activateModel(models, 'v1');
    await activateModel(models, 'v2');
    const list = await listModelVersions(models);
    expect(list.map((m) => m.version)).toEqual(expect.arrayContaining(['v1', 'v2']));
    expect(list.find((m) => m.active)?.version).toBe('v2');
    expect(list.find((m) => m.version === 'v2')?.metrics).toHaveProperty('baseline');
    expect((await rollbackModel(models)).version).toBe('v1');
    expect((await readActive(models))?.version).toBe('v1');
    // Before the first activation the shipped model ran: rollback returns to it, and no further.
    expect((await rollbackModel(models)).version).toBe(SHIPPED_VERSION);
    expect((await listModelVersions(models, SHIPPED_MODEL)).find((m) => m.active)).toMatchObject({ version: SHIPPED_VERSION, shipped: true, path: SHIPPED_MODEL });
    await expect(rollbackModel(models)).rejects.toThrow(/no previous/);
  });
});

describe('soc start with a site model activated while running', () => {
  let soc: SocProcess | undefined;
  let flowsSent = 0;
  const data = mkdtempSync(join(tmpdir(), 'soc-site-start-'));
  afterAll(async () => {
    await soc?.stop();
    rmSync(data, { recursive: true, force: true });
  });

  it('switches to the fitted model and alerts the C2 destination', async () => {
    soc = await startSoc({ dataDir: data });
    // Before any fit, the shipped model is listed and active: the evidence reference the detector
    // runs (not the NSL-KDD autoencoder, which runs only when detector.modelPath names it).
    expect((await api(soc.url, soc.analystToken, '/v1/models')).body.models).toEqual([expect.objectContaining({
      version: 'shipped', active: true, shipped: true, path: expect.stringMatching(/evidence-reference-v1\.json$/),
      metrics: expect.objectContaining({ model: 'evidence-reference-v1', kind: 'reference', threshold: loadReference().threshold, priors: expect.arrayContaining(['burst', 'service_port', 'usage']) }),
    })]);
    const c = enterpriseCapture({ seed: 11, hours: 6, beaconPeriodS: 120, jitter: 0.25 });
    const file = join(data, 'capture.conn.log');
    writeFileSync(file, c.lines.join('\n') + '\n');
    await fitSite(flowsOf(await readZeekEvents([file])), modelsDir(data), { version: 'site-e2e', sources: [file] });
    await activateModel(modelsDir(data), 'site-e2e');
    const models = await waitFor(async () => {
      const m = (await api(soc!.url, soc!.analystToken, '/v1/models')).body.models as { version: string; active: boolean }[];
      return m.find((x) => x.active && x.version === 'site-e2e') ? m : undefined;
    }, 'model listed as active');
    expect(models.map((m) => [m.version, m.active])).toEqual([['shipped', false], ['site-e2e', true]]);
    // The detector polls active.json; give it a moment before the first batch arrives.
    await new Promise((r) => setTimeout(r, 2500));
    for (let i = 0; i < c.lines.length; i += 1000) {
      const r = await api(soc.url, soc.sensorToken, '/v1/events?format=zeek&zeek_path=conn', { method: 'POST', body: c.lines.slice(i, i + 1000).join('\n') });
      expect(r.status).toBe(202);
    }
    const alert = await waitFor(async () => {
      const a = (await api(soc!.url, soc!.analystToken, '/v1/alerts?limit=1000')).body.alerts as { destination?: { ip?: string }; rule: { id: string }; explanation: { summary: string } }[];
      return a.find((x) => x.destination?.ip === c.c2);
    }, 'an alert for the C2 destination', 60_000);
    expect(alert.rule.id).toBe('c2-pair@site-e2e');
    expect(alert.explanation.summary).toMatch(/p=/);
    flowsSent = c.lines.length;
  }, 180_000);

  /** Runs the CLI without blocking this process's event loop (its keep-alive sockets must stay serviced). */
  const runSoc = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services/soc/src/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, SOC_LOG_LEVEL: 'warn' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  it('fits a new version on a time range of the flow topic, with the service running', async () => {
    const r = await runSoc(['model', 'fit', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--data-dir', data, '--name', 'site-topic']);
    expect(r.status, r.stderr).toBe(0);
    const fitted = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { fitted: string; baseline: { flows: number } };
    expect(fitted.fitted).toBe('site-topic');
    expect(fitted.baseline.flows).toBe(flowsSent);
    const models = (await api(soc!.url, soc!.analystToken, '/v1/models')).body.models as { version: string; active: boolean }[];
    expect(models.find((m) => m.active)?.version).toBe('site-topic');
    const empty = await runSoc(['model', 'fit', '--from', '1990-01-01T00:00:00Z', '--to', '1990-01-02T00:00:00Z', '--data-dir', data]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no flow events to fit on/);
  }, 180_000);
});
