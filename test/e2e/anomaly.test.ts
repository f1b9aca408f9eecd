import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';
import { normalWeb, portScan, synFlood } from '../helpers/traffic.ts';
import { SHIPPED_MODEL } from '../../services/soc/src/runtime.ts';

/**
 * Zeek conn records through `soc start` with the NSL-KDD ONNX model configured (detector.modelPath):
 * attacks become grouped, explained anomaly alerts. The default detector is the evidence detector
 * (real-capture.test.ts); the KDD model runs beside it when named.
 */
describe('ONNX anomaly detection in soc start', () => {
  let dir: string;
  let soc: SocProcess;
  const push = async (lines: string[]) => {
    for (let i = 0; i < lines.length; i += 1000) {
      const r = await api(soc.url, soc.sensorToken, '/v1/events?format=zeek&zeek_path=conn', { method: 'POST', body: lines.slice(i, i + 1000).join('\n') });
      expect(r.status).toBe(202);
      expect(r.body.rejected).toBe(0);
    }
  };
  const anomalies = async () => (await api(soc.url, soc.analystToken, '/v1/alerts?detector=anomaly&limit=1000')).body;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-anomaly-'));
    soc = await startSoc({ dataDir: dir, env: { SOC_MODEL_PATH: SHIPPED_MODEL } });
  });
  afterAll(async () => {
    await soc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises few alerts on ordinary traffic', async () => {
    const t0 = Date.UTC(2026, 10, 2, 9) / 1000;
    const normal = normalWeb(t0, 2000);
    await push(normal);
    await waitFor(async () => Number((await api(soc.url, soc.analystToken, '/metrics')).body.match(/soc_flows_scored_total (\d+)/)?.[1]) >= 2000, 'all flows scored');
    const a = await anomalies();
    const flowsAlerted = a.alerts.reduce((s: number, x: { count: number }) => s + x.count, 0);
    expect(flowsAlerted / normal.length).toBeLessThan(0.05);
  });

  it('groups a port scan and a SYN flood into alerts with counts and explanations', async () => {
    const t0 = Date.UTC(2026, 10, 2, 10) / 1000;
    await push([...portScan(t0, '198.51.100.66', '10.0.2.1', 500), ...synFlood(t0 + 30, '198.51.100.77', '10.0.2.2', 800)]);
    const found = await waitFor(async () => {
      const a = await anomalies();
      const scan = a.alerts.find((x: { source: { ip: string } }) => x.source.ip === '198.51.100.66');
      const flood = a.alerts.find((x: { source: { ip: string } }) => x.source.ip === '198.51.100.77');
      return scan && flood ? { scan, flood } : undefined;
    }, 'scan and flood alerts');
    for (const [alert, total] of [[found.scan, 500], [found.flood, 800]] as const) {
      // Grouped: one alert per source and window, counting most of the attack's flows.
      expect(alert.count).toBeGreaterThan(total * 0.5);
      expect(alert.explanation.features.length).toBeGreaterThan(0);
      expect(alert.explanation.summary).toMatch(/x the model threshold/);
      expect(alert.explanation.values.flag).toMatch(/S0|REJ/);
    }
    const perSource = (await anomalies()).alerts.filter((x: { source: { ip: string } }) => x.source.ip === '198.51.100.77');
    expect(perSource.length).toBeLessThanOrEqual(2);
  });
});

describe('a bad model stops the detector', () => {
  it('refuses to start with a missing or corrupt model, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soc-badmodel-'));
    try {
      const corrupt = join(dir, 'corrupt.onnx');
      writeFileSync(corrupt, 'not an onnx model');
      writeFileSync(join(dir, 'corrupt.json'), '{}');
      await expect(startSoc({ dataDir: join(dir, 'a'), env: { SOC_MODEL_PATH: join(dir, 'missing.onnx') } })).rejects.toThrow(/exited with 1[\s\S]*missing\.(onnx|json)/);
      await expect(startSoc({ dataDir: join(dir, 'b'), env: { SOC_MODEL_PATH: corrupt } })).rejects.toThrow(/exited with 1[\s\S]*(model|metadata)/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
