import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { assignedPartitions, createPartitioner, murmur2, partitionForKey } from './partition.ts';

// kafkajs's own implementation is the oracle: both adapters must agree with it.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: string) => number;

describe('murmur2 partitioner', () => {
  const keys = ['', 'a', 'ab', 'abc', 'abcd', 'host-17', '10.0.0.1', 'émoji-🙂', 'x'.repeat(97)];
  for (let i = 0; i < 200; i++) keys.push(`key-${i}-${(i * 7919).toString(36)}`);

  it('matches kafkajs murmur2 for every key', () => {
    for (const k of keys) expect(murmur2(k), k).toBe(kafkajsMurmur2(k));
  });

  it('matches known Kafka Java-client values', () => {
    // From Kafka's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
  });

  it('keys map into range and null keys rotate over all partitions', () => {
    for (const k of keys) {
      const p = partitionForKey(k, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
    }
    const pick = createPartitioner();
    const seen = new Set(Array.from({ length: 12 }, () => pick('t', null, 4)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    expect(pick('t', 'same', 4)).toBe(pick('t', 'same', 4));
  });
});

describe('assignedPartitions', () => {
  it('splits partitions disjointly and completely among subscribed members', () => {
    const members = [
      { id: 'b', topics: ['t'] },
      { id: 'a', topics: ['t'] },
      { id: 'c', topics: ['other'] },
    ];
    const a = assignedPartitions(members, 'a', 't', 5);
    const b = assignedPartitions(members, 'b', 't', 5);
    expect(a).toEqual([0, 2, 4]);
    expect(b).toEqual([1, 3]);
    expect(assignedPartitions(members, 'c', 't', 5)).toEqual([]);
  });
});
