/**
 * A second OS process for the cross-process tests: joins a consumer group on an embedded bus
 * file and, for every record it handles, appends `partition:offset` to a `handled` topic on the
 * same file. Prints `ready` once it is a member. Usage: group-member.ts <db> <group> <topic> <handledTopic> <memberTimeoutMs>
 */
import { openEmbeddedBus } from '../embedded.ts';
import { createLogger } from '@soc/telemetry';

const [path, groupId, topic, handledTopic, timeout] = process.argv.slice(2);
if (!path || !groupId || !topic || !handledTopic) throw new Error('usage: group-member.ts <db> <group> <topic> <handledTopic> <memberTimeoutMs>');

const bus = openEmbeddedBus({ path, memberTimeoutMs: Number(timeout ?? 1000), logger: createLogger('bus-child', { level: 'warn' }) });
const producer = await bus.producer();
const consumer = await bus.consumer({ groupId, topics: [topic] });
await consumer.run(async (batch) => {
  await producer.send(
    handledTopic,
    batch.map((r) => ({ key: null, value: `${r.partition}:${r.offset}` })),
  );
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void bus.close().then(() => process.exit(0));
});
