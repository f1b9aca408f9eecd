import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/**
 * Containers for the real-backend suites where a Docker engine exists: finding out fast whether
 * one answers (so a machine without one skips in a second instead of letting testcontainers
 * hang), and starting single-node Kafka (KRaft) and Elasticsearch containers.
 */

export const KAFKA_IMAGE = 'apache/kafka:3.9.1';
export const ELASTICSEARCH_IMAGE = 'docker.elastic.co/elasticsearch/elasticsearch:8.19.0';

export interface Started {
  stop(): Promise<unknown>;
}

/** Whether a Docker engine answers its API within a second. A tcp:// DOCKER_HOST is trusted as given. */
export function dockerAnswers(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const host = env.DOCKER_HOST;
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : host ? undefined : '/var/run/docker.sock';
  if (host && socketPath === undefined) return Promise.resolve(true);
  if (!socketPath || !existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A KRaft broker advertised on the fixed host port it is published on (clients must reach it there). */
export async function startKafka(): Promise<Started & { brokers: string[] }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await freePort();
  const c = await new GenericContainer(KAFKA_IMAGE)
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
    .withStartupTimeout(180_000)
    .start();
  return { brokers: [`127.0.0.1:${port}`], stop: () => c.stop() };
}

/** Single-node Elasticsearch without security (test only; compose runs it secured). */
export async function startElasticsearch(): Promise<Started & { url: string }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer(ELASTICSEARCH_IMAGE)
    .withEnvironment({ 'discovery.type': 'single-node', 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms512m -Xmx512m' })
    .withExposedPorts(9200)
    .withWaitStrategy(Wait.forHttp('/_cluster/health?wait_for_status=yellow', 9200))
    .withStartupTimeout(240_000)
    .start();
  return { url: `http://${c.getHost()}:${c.getMappedPort(9200)}`, stop: () => c.stop() };
}
