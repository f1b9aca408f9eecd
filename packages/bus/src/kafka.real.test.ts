/**
 * The conformance suite against a real broker (see @soc/testkit findKafka: the one `pnpm
 * test:real` starts, KAFKA_BROKERS, or a container), and SASL/PLAIN against a broker that
 * offers it.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findKafka, unavailable } from '@soc/testkit';
import { createLogger } from '@soc/telemetry';
import { busConformance } from './conformance.ts';
import { createKafkaBus, type KafkaBusOptions } from './kafka.ts';

const source = await findKafka();
if (!source) unavailable('kafka', 'no KAFKA_BROKERS and no Docker engine');
const logger = createLogger('bus-kafka-test', { level: 'warn' });
const open = (o: Pick<KafkaBusOptions, 'brokers' | 'sasl'>) => createKafkaBus({ ...o, clientId: 'soc-bus-conformance', logger, replicationFactor: 1 });

describe.skipIf(!source)('kafka (real broker)', () => {
  busConformance(
    'kafka',
    async () => {
      const broker = await source!();
      let bus = open({ brokers: broker.brokers });
      return {
        bus,
        settleMs: 8000,
        timeoutMs: 60_000,
        async reopen(old) {
          await old.close();
          bus = open({ brokers: broker.brokers });
          return bus;
        },
        async cleanup() {
          await bus.close();
          await broker.stop();
        },
      };
    },
    { retention: false },
  );

  describe('SASL/PLAIN', () => {
    it('produces and reads with the right password and is refused with a wrong one', async () => {
      const broker = await source!();
      if (!broker.sasl) unavailable('kafka SASL', 'the broker has no SASL listener (SOC_KAFKA_SASL_BROKERS unset)');
      if (!broker.sasl) return;
      const { brokers, username, password } = broker.sasl;
      const good = open({ brokers, sasl: { mechanism: 'plain', username, password } });
      const topic = `sasl-${randomUUID().slice(0, 8)}`;
      try {
        await good.ensureTopics([{ name: topic, partitions: 1 }]);
        await (await good.producer()).send(topic, [{ key: 'k', value: 'over SASL' }]);
        expect((await good.read(topic)).map((r) => r.value)).toEqual(['over SASL']);
      } finally {
        await good.close();
      }
      const bad = open({ brokers, sasl: { mechanism: 'plain', username, password: `${password}-wrong` } });
      try {
        await expect(bad.ensureTopics([{ name: `${topic}-x`, partitions: 1 }])).rejects.toThrow(/SASL|authentication/i);
      } finally {
        await bad.close();
      }
    }, 120_000);
  });
});
