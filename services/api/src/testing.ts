import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedBus, type EmbeddedBus, type Producer } from '@soc/bus';
import { TokenVerifier, type Credential } from '@soc/config';
import { createHttpHandler, listen, type Route } from '@soc/http';
import { Alert, alertId } from '@soc/schema';
import { openEmbeddedStore, type AlertStore } from '@soc/store';
import { createLogger, Metrics } from '@soc/telemetry';

/** Test fixtures for the API's STIX and TAXII tests: this SOC and one Suricata scan alert per index. */
export const SELF = { id: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' };

export const scanAlert = (i: number, over: Partial<Alert> = {}, tag = 'e'): Alert =>
  Alert.parse({
    id: alertId('suricata', '2001219', `${tag}${i}`),
    '@timestamp': new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    first_seen: new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    last_seen: new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    detector: 'suricata',
    rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan' },
    score: 0.6,
    severity: 'medium',
    message: 'scan',
    explanation: { summary: 'scan' },
    source: { ip: `203.0.113.${i + 1}`, port: 40000 },
    destination: { ip: '198.51.100.5', port: 22 },
    origin: { soc: SELF.id, country: SELF.country, name: SELF.name },
    tlp: 'GREEN',
    ...over,
  });

export interface TestApi {
  dir: string;
  store: AlertStore;
  bus: EmbeddedBus;
  producer: Producer;
  url: string;
  /** Stops the server and closes the producer, bus and store; removes the directory. */
  close(): Promise<void>;
}

/** A real embedded store and bus in a temporary directory, and the routes on 127.0.0.1:0. */
export async function startTestApi(name: string, credentials: Credential[], routes: (o: { store: AlertStore; producer: Producer; bus: EmbeddedBus }) => Route[]): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const logger = createLogger(`${name}-test`, { level: 'silent' });
  const store = openEmbeddedStore({ path: join(dir, 'alerts.db'), logger });
  const bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger });
  const producer = await bus.producer();
  const server = await listen(createHttpHandler({ service: 'api', routes: routes({ store, producer, bus }), verifier: new TokenVerifier(credentials), logger, metrics: new Metrics({ defaults: false }) }), '127.0.0.1', 0);
  return {
    dir, store, bus, producer, url: server.url,
    async close() {
      await server.close();
      await producer.close();
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
