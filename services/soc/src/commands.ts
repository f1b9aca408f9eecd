import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';
import { evaluateKdd, loadModel } from '@soc/model';
import { parseCommand } from './parse.ts';
import { evalConnCommand } from './eval-conn.ts';
import { modelCommand } from './model-cmd.ts';
import { SHIPPED_MODEL } from './runtime.ts';
import { replay, replayOptions } from './replay.ts';
import { demoCommand, keygenCommand } from './federation.ts';
import { tokensCommand, usersCommand } from './access-cmd.ts';
import { taxiiCommand } from './taxii-cmd.ts';

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
  'eval-conn': {
    args: 'LOG... [--bad ADDR,...] [--labels FILE] [--shipped | --model PATH|VERSION [--data-dir DIR] | --fit] [--alerts-per-day N]',
    help: 'replay Zeek logs (conn, dns/ssl/x509/http) through the evidence detector: shipped reference, a site model, or fitted on the logs (default); one JSON line: recall, plain/benign destinations alerted, alerts/hour, time to first alert',
    run: evalConnCommand,
  },
  model: {
    args: 'fit (FILE... | --from ISO --to ISO) [--alerts-per-day N] [--name NAME] | list | rollback [VERSION] [--data-dir DIR]',
    help: 'site models: fit on Zeek conn logs or the flow topic and activate, list versions with metrics, roll back',
    run: modelCommand,
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
  users: {
    args: 'add NAME [--role analyst|lead|admin] [--password-stdin] | list | disable|enable NAME | passwd NAME | role NAME ROLE',
    help: 'console users in DATA_DIR/auth.db (scrypt-hashed passwords; a generated password is printed once)',
    run: usersCommand,
  },
  tokens: {
    args: 'create --name NAME --role sensor|analyst|lead|admin | list | revoke ID',
    help: 'API and sensor bearer tokens, stored hashed; the secret is printed once',
    run: tokensCommand,
  },
  keygen: {
    args: '[--dir DIR] [--overwrite]',
    help: 'write a federation key pair (default DATA_DIR/federation); prints the key id and a trust-list entry',
    run: keygenCommand,
  },
  taxii: {
    args: 'pull COLLECTION_URL [--added-after ISO] [--limit N] [--into API_URL --source NAME]',
    help: "poll a partner's TAXII 2.1 collection: a STIX bundle to stdout, or imported with --into (token: SOC_TAXII_TOKEN)",
    run: (argv) => taxiiCommand(argv),
  },
  demo: {
    args: '[--socs N] [--dir DIR] [--timeout-s S]',
    help: 'N member SOCs on this machine share an attack over federation; one JSON line per step',
    run: demoCommand,
  },
};
