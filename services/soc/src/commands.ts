import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';

/**
 * Tool commands beside the services: each parses its own flags and returns an exit code. Each
 * loads its modules when it runs, so `soc --help` and a usage error do not load every service
 * (ONNX Runtime, the stores, the console) first.
 */
export interface Command {
  args: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  parse: {
    args: '--format zeek|suricata|syslog|ecs|auto FILE',
    help: 'normalise a file: events to stdout, rejections and a summary to stderr (.gz read)',
    run: async (argv) => (await import('./parse.ts')).parseCommand(argv),
  },
  'eval-kdd': {
    args: 'FILE [--model PATH]',
    help: 'score an NSL-KDD format file with the shipped model and threshold; one JSON line of metrics',
    run: async (argv) => {
      const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { model: { type: 'string' } } });
      if (!positionals[0]) throw new ConfigError('eval-kdd needs a FILE', 'file');
      const [{ evaluateKdd, loadModel }, { SHIPPED_MODEL }] = await Promise.all([import('@soc/model'), import('./stages.ts')]);
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
    run: async (argv) => (await import('./eval-conn.ts')).evalConnCommand(argv),
  },
  model: {
    args: 'fit (FILE... | --from ISO --to ISO) [--alerts-per-day N] [--name NAME] | list | rollback [VERSION] [--data-dir DIR]',
    help: 'site models: fit on Zeek conn logs or the flow topic and activate, list versions with metrics, roll back',
    run: async (argv) => (await import('./model-cmd.ts')).modelCommand(argv),
  },
  replay: {
    args: 'FILE [--rate N | --speed X] [--url URL]',
    help: 'push a sensor file into a running instance (sensor token from --token, SOC_SENSOR_TOKEN or --data-dir)',
    run: async (argv) => {
      const { replay, replayOptions } = await import('./replay.ts');
      const summary = await replay(replayOptions(argv, process.env));
      process.stdout.write(JSON.stringify(summary) + '\n');
      return 0;
    },
  },
  users: {
    args: 'add NAME [--role analyst|lead|admin] [--password-stdin] | list | disable|enable NAME | passwd NAME | role NAME ROLE',
    help: 'console users in DATA_DIR/auth.db (scrypt-hashed passwords; a generated password is printed once)',
    run: async (argv) => (await import('./access-cmd.ts')).usersCommand(argv),
  },
  tokens: {
    args: 'create --name NAME --role sensor|analyst|lead|admin | list | revoke ID',
    help: 'API and sensor bearer tokens, stored hashed; the secret is printed once',
    run: async (argv) => (await import('./access-cmd.ts')).tokensCommand(argv),
  },
  keygen: {
    args: '[--dir DIR] [--overwrite]',
    help: 'write a federation key pair (default DATA_DIR/federation); prints the key id and a trust-list entry',
    run: async (argv) => (await import('./federation.ts')).keygenCommand(argv),
  },
  taxii: {
    args: 'pull COLLECTION_URL [--added-after ISO] [--limit N] [--into API_URL --source NAME]',
    help: "poll a partner's TAXII 2.1 collection: a STIX bundle to stdout, or imported with --into (token: SOC_TAXII_TOKEN)",
    run: async (argv) => (await import('./taxii-cmd.ts')).taxiiCommand(argv),
  },
  demo: {
    args: '[--socs N] [--dir DIR] [--timeout-s S]',
    help: 'N member SOCs on this machine share an attack over federation; one JSON line per step',
    run: async (argv) => (await import('./federation.ts')).demoCommand(argv),
  },
};
