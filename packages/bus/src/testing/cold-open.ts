import { openEmbeddedBus } from '../embedded.ts';

/**
 * A process that opens a log file at the instant its parent writes on stdin (epoch ms; it spins
 * to it, as timers are too coarse to line several processes up), creates a topic and closes: the
 * cold concurrent open of a new file. Exits 1 with the error's code and message on stderr if the
 * open fails.
 */
const [path] = process.argv.slice(2);
process.stdout.write('ready\n');
process.stdin.once('data', (d: Buffer) => {
  const at = Number(d.toString().trim());
  while (Date.now() < at) {
    // spin
  }
  void (async () => {
    try {
      const bus = openEmbeddedBus({ path: path!, defaultPartitions: 1 });
      await bus.ensureTopics([{ name: 'federation', partitions: 1 }]);
      await bus.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`${String((err as { code?: unknown }).code)}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  })();
});
