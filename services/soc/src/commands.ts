import { parseCommand } from './parse.ts';
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
