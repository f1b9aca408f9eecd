import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, SocError } from '@soc/errors';

/**
 * The CLI as a person meets it, shared by every command: `--help` everywhere (exit 0), one-line
 * errors `soc: <what> (<hint>)`, exit 2 for usage errors and 1 for runtime ones, and no stack
 * trace unless SOC_DEBUG=1. Commands parse their flags with `parseFlags` and throw; `main` turns
 * whatever they throw into that one line with `describeError`.
 */

/** The user asked for something the command does not accept: exit 2, with a hint. */
export class UsageError extends SocError {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message, { retriable: false });
  }
}

export const EXIT_USAGE = 2;
export const EXIT_RUNTIME = 1;

export const wantsHelp = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

/** node:util parseArgs, strict, with its errors turned into usage errors naming the flag. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, command: string, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw toUsageError(err, command) ?? err;
  }
}

const seeHelp = (command?: string) => `see soc ${command ? `${command} ` : ''}--help`;

/** parseArgs reports typos as TypeErrors with an ERR_PARSE_ARGS_* code and a long message; this is the short form. */
function toUsageError(err: unknown, command?: string): UsageError | undefined {
  const e = err as { code?: unknown; message?: string };
  if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
  const hint = seeHelp(command);
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${quoted ?? ''}`.trim(), hint);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument "${quoted ?? ''}"`, hint);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted?.split(' ')[0];
      return new UsageError(/argument missing/.test(e.message ?? '') ? `option ${flag} needs a value` : `option ${flag} takes no value`, hint);
    }
    default:
      return new UsageError((e.message ?? '').split('. ')[0]!, hint);
  }
}

/** A URL flag: http(s) with a host, or a usage error showing the expected form. */
export function httpUrl(value: string, flag: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    // handled below
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) throw new UsageError(`${flag} must be an http(s) URL, got "${value}"`, `for example ${flag} http://127.0.0.1:8080`);
  return value;
}

const SYSCALL_HINTS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on the device',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
};

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string; cause?: unknown };

/** Node's network and file errors carry a code; the cause chain of fetch errors holds the real one. */
function errnoOf(err: unknown): SystemError | undefined {
  for (let e = err as SystemError | undefined, depth = 0; e && depth < 5; e = e.cause as SystemError | undefined, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e;
  }
  return undefined;
}

/** What went wrong and what to try, for one line on stderr. */
export function describeError(err: unknown, command?: string): { what: string; hint?: string; exitCode: number } {
  const usage = err instanceof UsageError ? err : toUsageError(err, command);
  if (usage) return { what: usage.message, hint: usage.hint, exitCode: EXIT_USAGE };
  // Bad flags and bad configuration values are the user's to fix: usage.
  if (err instanceof ConfigError) return { what: err.message, hint: err.field ? `check ${err.field.includes('.') ? 'the configuration of' : '--'}${err.field}; ${seeHelp(command)}` : seeHelp(command), exitCode: EXIT_USAGE };
  const errno = errnoOf(err);
  if (errno?.code === 'EADDRINUSE') {
    const where = errno.address !== undefined && errno.port !== undefined ? `${errno.address}:${errno.port}` : 'the port';
    return { what: `${where} is already in use`, hint: 'stop the other process, or pass --port N; 0 picks a free port', exitCode: EXIT_RUNTIME };
  }
  if (errno?.code === 'ECONNREFUSED' || errno?.code === 'ENOTFOUND' || errno?.code === 'ECONNRESET' || errno?.code === 'EHOSTUNREACH') {
    const where = errno.address !== undefined ? `${errno.address}${errno.port ? `:${errno.port}` : ''}` : (errno.hostname ?? 'the server');
    return { what: `cannot reach ${where} (${errno.code})`, hint: 'is soc start running there? check --url', exitCode: EXIT_RUNTIME };
  }
  if (errno?.code && SYSCALL_HINTS[errno.code] && errno.path) {
    const hint = errno.code === 'ENOENT' ? 'check the path' : 'choose another --data-dir or path, or fix its permissions';
    return { what: `cannot ${errno.syscall ?? 'use'} ${errno.path}: ${SYSCALL_HINTS[errno.code]}`, hint, exitCode: EXIT_RUNTIME };
  }
  if (err instanceof TypeError && err.message === 'fetch failed') {
    return { what: `cannot reach the server: ${(err.cause as Error | undefined)?.message ?? 'network error'}`, hint: 'is soc start running there? check --url', exitCode: EXIT_RUNTIME };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SocError) return { what: message, exitCode: EXIT_RUNTIME };
  return { what: message.split('\n')[0]!, hint: 'SOC_DEBUG=1 shows the stack trace', exitCode: EXIT_RUNTIME };
}

/** Writes the one line (and the stack with SOC_DEBUG=1) and returns the exit code. */
export function reportError(err: unknown, command: string | undefined, stderr: NodeJS.WritableStream = process.stderr, env: NodeJS.ProcessEnv = process.env): number {
  const d = describeError(err, command);
  stderr.write(`soc: ${d.what}${d.hint ? ` (${d.hint})` : ''}\n`);
  if (env.SOC_DEBUG === '1') stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  return d.exitCode;
}

/** The product version, from the root package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
