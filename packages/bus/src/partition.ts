/**
 * Key → partition, bit-for-bit the rule of Kafka's Java client and kafkajs's DefaultPartitioner
 * (`toPositive(murmur2(key)) % partitions`), so a key lands on the same partition number in the
 * embedded log and in a Kafka cluster with the same partition count.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 over the key's UTF-8 bytes, as a signed 32-bit integer. */
export function murmur2(key: string | Uint8Array): number {
  const data = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    case 3:
      h ^= data[tail + 2]! << 16;
    // falls through
    case 2:
      h ^= data[tail + 1]! << 8;
    // falls through
    case 1:
      h ^= data[tail]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function toPositive(x: number): number {
  return x & 0x7fffffff;
}

export function partitionForKey(key: string, partitions: number): number {
  return toPositive(murmur2(key)) % partitions;
}

/**
 * The default partitioner of both adapters: keyed records hash, null keys round-robin from a
 * per-topic counter (one per producer, like kafkajs).
 */
export function createPartitioner(): (topic: string, key: string | null, partitions: number) => number {
  const counters = new Map<string, number>();
  return (topic, key, partitions) => {
    if (key !== null) return partitionForKey(key, partitions);
    const next = ((counters.get(topic) ?? Math.floor(Math.random() * partitions)) + 1) >>> 0;
    counters.set(topic, next);
    return next % partitions;
  };
}

/**
 * Deterministic group assignment: every member computes the same answer from the same sorted
 * member list, so no coordinator is needed. Round-robin over the members that subscribe to the
 * topic; returns the partitions of `topic` owned by `self`.
 */
export function assignedPartitions(members: readonly { id: string; topics: readonly string[] }[], self: string, topic: string, partitions: number): number[] {
  const subscribed = members
    .filter((m) => m.topics.includes(topic))
    .map((m) => m.id)
    .sort();
  const index = subscribed.indexOf(self);
  if (index < 0) return [];
  const out: number[] = [];
  for (let p = index; p < partitions; p += subscribed.length) out.push(p);
  return out;
}
