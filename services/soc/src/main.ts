import { loadConfig, type SocConfig } from '@soc/config';
import { createLogger } from '@soc/telemetry';
import { SERVICES, type ServiceName } from './service-names.ts';
import { COMMANDS } from './commands.ts';
import { EXIT_USAGE, UsageError, parseFlags, reportError, version, wantsHelp } from './cli.ts';

const SERVICE_ARGS = '[--data-dir DIR] [--port N] [--host ADDR] [--config FILE]';

const USAGE = `usage: soc <command> [options]   (soc <command> --help for one command; soc --version)

Pipeline:
  start ${SERVICE_ARGS}
  ${''.padEnd(52)}all services in one process (embedded backends by default)
  collector | detector | indexer | api | federation   one service (scale-out; backends from config/env; --config FILE)
${Object.entries(COMMANDS)
  .map(([name, c]) => {
    const usage = `${name} ${c.args}`;
    // Long synopses get their own line so the help column stays aligned.
    return usage.length < 52 ? `  ${usage.padEnd(52)}${c.help}` : `  ${usage}\n  ${''.padEnd(52)}${c.help}`;
  })
  .join('\n')}

Configuration: --config FILE or SOC_CONFIG, environment variables (KAFKA_BROKERS, ELASTICSEARCH_URL, SOC_* — see packages/config), flags.`;

function serviceConfig(argv: string[], command: string): { cfg: SocConfig } {
  const { values } = parseFlags(argv, { 'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, config: { type: 'string' } }, command, false);
  const overrides: Record<string, unknown> = {};
  if (values['data-dir']) overrides.dataDir = values['data-dir'];
  if (values.port !== undefined || values.host !== undefined) {
    overrides.api = { ...(values.port !== undefined ? { port: values.port } : {}), ...(values.host ? { host: values.host } : {}) };
  }
  return { cfg: loadConfig({ file: values.config, overrides }) };
}

async function runServices(services: readonly ServiceName[], argv: string[], command: string): Promise<void> {
  const { cfg } = serviceConfig(argv, command);
  const logger = createLogger(services.length === 1 ? `soc-${services[0]}` : 'soc');
  // Loaded here, not at the top: help and usage errors answer without loading every service.
  const { startServices } = await import('./runtime.ts');
  const running = await startServices(cfg, services, logger);
  if (running.credentialsCreated) logger.info({ path: running.credentialsPath }, 'created an analyst and a sensor token and the admin console user; keep this file secret');
  const web = services.includes('api') && running.urls.api ? { console: `${running.urls.api}/`, ...(running.initialAdmin ? { admin: { user: running.initialAdmin, password_in: running.credentialsPath } } : {}) } : {};
  process.stdout.write(
    JSON.stringify({ ready: true, services, api: running.urls.api, ...web, collector: running.urls.collector, ...(running.urls.ops ? { ops: running.urls.ops } : {}), ...(running.syslog ? { syslog: running.syslog } : {}), data_dir: cfg.dataDir, credentials: running.credentialsPath, bus: running.bus.kind, store: running.store?.kind }) + '\n',
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining and stopping');
    running
      .stop()
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => running.reload());
}

/** One command's help: its synopsis and what it does. */
function commandHelp(name: string): string | undefined {
  if (name === 'start') return `usage: soc start ${SERVICE_ARGS}\n\nRuns every service in one process (embedded SQLite bus and store by default) and prints one JSON line with "ready":true.\n`;
  if ((SERVICES as readonly string[]).includes(name)) return `usage: soc ${name} ${SERVICE_ARGS}\n\nRuns the ${name} service alone (scale-out); backends from configuration and environment.\n`;
  const c = COMMANDS[name];
  return c ? `usage: soc ${name} ${c.args}\n\n${c.help}\n` : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`soc ${version()}\n`);
    return 0;
  }
  if (!command) {
    process.stderr.write(USAGE + '\n');
    return EXIT_USAGE;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const one = rest[0] === undefined ? undefined : commandHelp(rest[0]);
    if (rest[0] !== undefined && !one) throw new UsageError(`unknown command "${rest[0]}"`, 'soc help lists the commands');
    process.stdout.write((one ?? USAGE + '\n'));
    return 0;
  }
  const help = commandHelp(command);
  if (!help) throw new UsageError(`unknown command "${command}"`, 'soc help lists the commands');
  if (wantsHelp(rest)) {
    process.stdout.write(help);
    return 0;
  }
  if (command === 'start') {
    await runServices(SERVICES, rest, command);
    return -1;
  }
  if ((SERVICES as readonly string[]).includes(command)) {
    await runServices([command as ServiceName], rest, command);
    return -1;
  }
  return COMMANDS[command]!.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => process.exit(reportError(err, process.argv[2])),
);
