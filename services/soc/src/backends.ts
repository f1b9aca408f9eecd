import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafkaBus, openEmbeddedBus, type Bus, type TopicSpec } from '@soc/bus';
import { readSecret, type SocConfig } from '@soc/config';
import { TOPICS } from '@soc/schema';
import { createElasticsearchStore, createOpenSearchStore, openEmbeddedStore, type AlertStore } from '@soc/store';
import type { Logger } from '@soc/telemetry';

/** Chooses the bus adapter the configuration names: embedded SQLite log or Kafka. */
export function openBus(cfg: SocConfig, logger: Logger): Bus {
  if (cfg.bus.kind === 'embedded') return openEmbeddedBus({ path: cfg.bus.path ?? join(cfg.dataDir, 'bus.db'), logger, defaultPartitions: cfg.topics.partitions });
  const k = cfg.bus.kafka;
  const file = (p: string | undefined) => (p ? readFileSync(p, 'utf8') : undefined);
  return createKafkaBus({
    brokers: k.brokers,
    clientId: k.clientId,
    ssl: k.ssl ? { ca: file(k.ssl.caFile), cert: file(k.ssl.certFile), key: file(k.ssl.keyFile), rejectUnauthorized: k.ssl.rejectUnauthorized } : undefined,
    sasl: k.sasl ? { mechanism: k.sasl.mechanism, username: k.sasl.username, password: readSecret(k.sasl.password, k.sasl.passwordFile, 'bus.kafka.sasl.password') ?? '' } : undefined,
    allowTopicCreation: k.allowTopicCreation,
    replicationFactor: cfg.topics.replicationFactor,
    logger,
  });
}

/** Chooses the alert store adapter: embedded SQLite + FTS5, Elasticsearch or OpenSearch. */
export function openStore(cfg: SocConfig, logger: Logger): AlertStore {
  if (cfg.store.kind === 'embedded') return openEmbeddedStore({ path: cfg.store.path ?? join(cfg.dataDir, 'alerts.db'), logger });
  if (cfg.store.kind === 'opensearch') {
    const o = cfg.store.opensearch;
    const password = readSecret(o.password, o.passwordFile, 'store.opensearch.password');
    return createOpenSearchStore({ node: o.node, auth: o.username && password ? { username: o.username, password } : undefined, caFile: o.caFile, index: o.index, logger });
  }
  const e = cfg.store.elasticsearch;
  const apiKey = readSecret(e.apiKey, e.apiKeyFile, 'store.elasticsearch.apiKey');
  const password = readSecret(e.password, e.passwordFile, 'store.elasticsearch.password');
  return createElasticsearchStore({
    node: e.node,
    auth: apiKey ? { apiKey } : e.username && password ? { username: e.username, password } : undefined,
    caFile: e.caFile,
    index: e.index,
    logger,
  });
}

/** The topic layout with the configured partitions and retention (see @soc/schema TOPICS). */
export function topicSpecs(cfg: SocConfig): TopicSpec[] {
  const t = cfg.topics;
  const spec = (name: string, partitions = t.partitions): TopicSpec => ({ name, partitions, replicationFactor: t.replicationFactor, retentionMs: t.retentionMs, retentionBytes: t.retentionBytes });
  // The detector's windows and site signals span destinations (a scan fans out, a service is
  // shared), so they are exact only over one ordered stream. In one process that costs nothing:
  // the embedded log keeps events on one partition. On Kafka, events are keyed by destination for
  // scale-out and cross-destination features are computed per partition (see deploy/README.md).
  const eventPartitions = cfg.bus.kind === 'embedded' ? 1 : t.partitions;
  // Dead letters and federation are low-volume; one partition keeps them in arrival order.
  return [spec(TOPICS.events, eventPartitions), spec(TOPICS.alerts), spec(TOPICS.deadLetter, 1), spec(TOPICS.federationOut, 1)];
}
