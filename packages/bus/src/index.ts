export * from './port.ts';
export { openEmbeddedBus, toBackendError, type EmbeddedBus, type EmbeddedBusOptions } from './embedded.ts';
export {
  createKafkaBus,
  kafkaClientConfig,
  kafkaLogCreator,
  toBusError,
  type KafkaAdminLike,
  type KafkaBusOptions,
  type KafkaConsumerLike,
  type KafkaLike,
  type KafkaProducerLike,
} from './kafka.ts';
export { assignedPartitions, createPartitioner, murmur2, partitionForKey, toPositive } from './partition.ts';
export { benchEmbeddedBus, type BusBenchResult } from './bench.ts';
