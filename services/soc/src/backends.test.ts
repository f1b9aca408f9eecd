import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = join(import.meta.dirname, '..');

/**
 * Runs `script` in a fresh node (with tsx) and returns which client libraries it left loaded:
 * this process has loaded them all already (other tests), so only a new one can tell.
 */
function librariesLoadedBy(script: string, dataDir: string): Record<string, boolean> {
  const probe = `
    import { createRequire } from 'node:module';
    ${script}
    const cache = Object.keys(createRequire(process.cwd() + '/').cache);
    const loaded = (name) => cache.some((k) => k.includes('/node_modules/' + name + '/'));
    process.stdout.write(JSON.stringify({ kafkajs: loaded('kafkajs'), elasticsearch: loaded('@elastic/elasticsearch'), opensearch: loaded('@opensearch-project/opensearch') }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: here, env: { ...process.env, SOC_DATA_DIR: dataDir, SOC_LOG_LEVEL: 'silent' }, encoding: 'utf8' });
  return JSON.parse(out) as Record<string, boolean>;
}

describe('backends', () => {
  it('open the embedded bus and store without loading kafkajs or the Elasticsearch/OpenSearch clients; a remote backend loads its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'soc-backends-'));
    try {
      const open = `
        import { loadConfig } from '@soc/config';
        import { createLogger } from '@soc/telemetry';
        import { openBus, openStore } from './src/backends.ts';
        const cfg = loadConfig({ env: { SOC_DATA_DIR: process.env.SOC_DATA_DIR } });
        const bus = openBus(cfg, createLogger('t'));
        const store = openStore(cfg, createLogger('t'));
        await bus.ensureTopics([{ name: 'probe', partitions: 1 }]);
        await store.close();
        await bus.close();`;
      expect(librariesLoadedBy(open, dir)).toEqual({ kafkajs: false, elasticsearch: false, opensearch: false });
      // The probe sees a library once a backend of its kind is created (no connection is made).
      const remote = `
        import { createKafkaBus } from '@soc/bus';
        import { createElasticsearchStore, createOpenSearchStore } from '@soc/store';
        createKafkaBus({ brokers: ['127.0.0.1:9'], clientId: 'probe' });
        createElasticsearchStore({ node: 'http://127.0.0.1:9' });
        createOpenSearchStore({ node: 'http://127.0.0.1:9' });`;
      expect(librariesLoadedBy(remote, dir)).toEqual({ kafkajs: true, elasticsearch: true, opensearch: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
