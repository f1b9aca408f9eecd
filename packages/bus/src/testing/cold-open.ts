import { atParentsInstant, exitWithOutcome } from '@soc/testkit/cold-open';
import { openEmbeddedBus } from '../embedded.ts';

/** A child of `openAtOnce`: opens a new log file with the others, creates a topic and closes. */
await atParentsInstant();
await exitWithOutcome(async () => {
  const bus = openEmbeddedBus({ path: process.argv[2]!, defaultPartitions: 1 });
  await bus.ensureTopics([{ name: 'federation', partitions: 1 }]);
  await bus.close();
});
