/**
 * The conformance suite against a real broker: KAFKA_BROKERS (comma-separated), else a
 * single-node KRaft `apache/kafka` container when a Docker engine is reachable, else skipped.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe } from 'vitest';
import { createLogger } from '@soc/telemetry';
import { busConformance } from './conformance.ts';
import { createKafkaBus } from './kafka.ts';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
// A socket file or DOCKER_HOST is checked without connecting, so a missing engine costs nothing.
const DOCKER = !BROKERS && (Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock'));
const ENABLED = Boolean(BROKERS?.length) || DOCKER;
if (!ENABLED) console.warn('kafka: skipped — no KAFKA_BROKERS and no Docker engine');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts a KRaft broker whose advertised listener is the fixed host port it is published on. */
async function startKafka(): Promise<{ brokers: string[]; stop(): Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await freePort();
  const container = await new GenericContainer('apache/kafka:3.9.1')
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return { brokers: [`127.0.0.1:${port}`], stop: async () => void (await container.stop()) };
}

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
