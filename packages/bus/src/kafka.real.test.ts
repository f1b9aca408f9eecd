/**
 * The conformance suite against a real broker: KAFKA_BROKERS (comma-separated), else a
 * single-node KRaft `apache/kafka` container when a Docker engine is reachable, else skipped.
 */
import { describe } from 'vitest';
import { dockerAnswers, startKafka } from '@soc/testkit';
import { createLogger } from '@soc/telemetry';
import { busConformance } from './conformance.ts';
import { createKafkaBus } from './kafka.ts';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
const DOCKER = !BROKERS && (await dockerAnswers());
const ENABLED = Boolean(BROKERS?.length) || DOCKER;
if (!ENABLED) console.warn('kafka: skipped — no KAFKA_BROKERS and no Docker engine');

describe.skipIf(!ENABLED)('kafka (real broker)', () => {
  busConformance('kafka', async () => {
    const broker = BROKERS ? { brokers: BROKERS, stop: async () => {} } : await startKafka();
    const logger = createLogger('bus-kafka-test', { level: 'warn' });
    const open = () => createKafkaBus({ brokers: broker.brokers, clientId: 'soc-bus-conformance', logger, replicationFactor: 1 });
    let bus = open();
    return {
      bus,
      settleMs: 8000,
      timeoutMs: 60_000,
      async reopen(old) {
        await old.close();
        bus = open();
        return bus;
      },
      async cleanup() {
        await bus.close();
        await broker.stop();
      },
    };
  });
});
