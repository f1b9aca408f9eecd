import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';
import { evaluateKdd, loadModel } from '@soc/model';
import { parseCommand } from './parse.ts';
import { SHIPPED_MODEL } from './runtime.ts';
import { replay, replayOptions } from './replay.ts';

/** Tool commands beside the services: each parses its own flags and returns an exit code. */
export interface Command {
  args: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  parse: {
    args: '--format zeek|suricata|syslog|ecs|auto FILE',
    help: 'normalise a file: events to stdout, rejections and a summary to stderr (.gz read)',
    run: parseCommand,
  },
  'eval-kdd': {
    args: 'FILE [--model PATH]',
    help: 'score an NSL-KDD format file with the shipped model and threshold; one JSON line of metrics',
    run: async (argv) => {
      const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { model: { type: 'string' } } });
      if (!positionals[0]) throw new ConfigError('eval-kdd needs a FILE', 'file');
      const model = await loadModel(values.model ?? SHIPPED_MODEL);
      try {
        process.stdout.write(JSON.stringify(await evaluateKdd(positionals[0], model)) + '\n');
      } finally {
        await model.close();
      }
      return 0;
    },
  },
  replay: {
    args: 'FILE [--rate N | --speed X] [--url URL]',
    help: 'push a sensor file into a running instance (sensor token from --token, SOC_SENSOR_TOKEN or --data-dir)',
    run: async (argv) => {
      const summary = await replay(replayOptions(argv, process.env));
      process.stdout.write(JSON.stringify(summary) + '\n');
      return 0;
    },
  },
};
