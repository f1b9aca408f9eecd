import { parseArgs } from 'node:util';
import { ConfigError, SocError } from '@soc/errors';
import { loadConfig, type SocConfig } from '@soc/config';
import { createLogger } from '@soc/telemetry';
import { SERVICES, startServices, type ServiceName } from './runtime.ts';
import { COMMANDS } from './commands.ts';

const USAGE = `usage: soc <command> [options]

Pipeline:
  start [--data-dir DIR] [--port N] [--config FILE]   all services in one process (embedded backends by default)
  collector | detector | indexer | api | federation   one service (scale-out; backends from config/env; --config FILE)
${Object.entries(COMMANDS)
  .map(([name, c]) => {
    const usage = `${name} ${c.args}`;
    // Long synopses get their own line so the help column stays aligned.
    return usage.length < 52 ? `  ${usage.padEnd(52)}${c.help}` : `  ${usage}\n  ${''.padEnd(52)}${c.help}`;
  })
  .join('\n')}

Configuration: --config FILE or SOC_CONFIG, environment variables (KAFKA_BROKERS, ELASTICSEARCH_URL, SOC_* — see packages/config), flags.`;

function serviceConfig(argv: string[]): { cfg: SocConfig } {
  const { values } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, config: { type: 'string' } },
    allowPositionals: false,
  });
  const overrides: Record<string, unknown> = {};
  if (values['data-dir']) overrides.dataDir = values['data-dir'];
  if (values.port !== undefined || values.host !== undefined) {
    overrides.api = { ...(values.port !== undefined ? { port: values.port } : {}), ...(values.host ? { host: values.host } : {}) };
  }
  return { cfg: loadConfig({ file: values.config, overrides }) };
}

async function runServices(services: readonly ServiceName[], argv: string[]): Promise<void> {
  const { cfg } = serviceConfig(argv);
  const logger = createLogger(services.length === 1 ? `soc-${services[0]}` : 'soc');
  const running = await startServices(cfg, services, logger);
  if (running.credentialsCreated) logger.info({ path: running.credentialsPath }, 'created an analyst and a sensor token; keep this file secret');
  process.stdout.write(
    JSON.stringify({ ready: true, services, api: running.urls.api, collector: running.urls.collector, ...(running.urls.ops ? { ops: running.urls.ops } : {}), ...(running.syslog ? { syslog: running.syslog } : {}), data_dir: cfg.dataDir, credentials: running.credentialsPath, bus: running.bus.kind, store: running.store?.kind }) + '\n',
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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  if (command === 'start') {
    await runServices(SERVICES, rest);
    return -1;
  }
  if ((SERVICES as readonly string[]).includes(command)) {
    await runServices([command as ServiceName], rest);
    return -1;
  }
  const c = COMMANDS[command];
  if (!c) {
    process.stderr.write(`soc: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  return c.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const msg = err instanceof ConfigError ? `configuration error: ${err.message}` : err instanceof SocError ? err.message : (err as Error).stack ?? String(err);
    process.stderr.write(`soc: ${msg}\n`);
    process.exit(err instanceof ConfigError ? 78 : 1);
  },
);
