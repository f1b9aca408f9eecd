import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real syslog daemons as senders in tests: rsyslog and syslog-ng from Debian, each run with a
 * private config, pid file and work directory, in the foreground as our child, stopped by pid.
 * They never bind 514 or /dev/log: their configs load no local inputs.
 */

export interface Tool {
  bin: string;
  env: NodeJS.ProcessEnv;
  /** Extra arguments the tool needs to find its modules. */
  args: string[];
}

const onPath = (name: string): string | undefined => {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(d, name);
    if (d && existsSync(p)) return p;
  }
  return undefined;
};

export function rsyslogd(): Tool | { missing: string } {
  const bin = onPath('rsyslogd');
  if (!bin) return { missing: 'rsyslogd is not installed (Debian packages rsyslog, rsyslog-openssl)' };
  // The module directory is per architecture: /usr/lib/<triplet>/rsyslog.
  if (!readdirSafe('/usr/lib').some((d) => existsSync(join('/usr/lib', d, 'rsyslog/lmnsd_ossl.so')))) {
    return { missing: 'rsyslog has no OpenSSL stream driver (Debian package rsyslog-openssl)' };
  }
  return { bin, env: {}, args: [] };
}

const readdirSafe = (d: string): string[] => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};

/**
 * syslog-ng. Debian's syslog-ng-core and rsyslog conflict (both are "the system logger"), so
 * with rsyslog installed syslog-ng comes from its package unpacked into a cache directory
 * (`apt-get download` + `dpkg-deb -x`; its libraries are in .ci/apt-packages) and runs from there.
 */
export function syslogNg(): Tool | { missing: string } {
  const bin = onPath('syslog-ng');
  if (bin) return { bin, env: {}, args: [] };
  const root = join(tmpdir(), 'soc-syslog-ng-core');
  const unpacked = join(root, 'usr/sbin/syslog-ng');
  if (!existsSync(unpacked)) {
    if (!onPath('apt-get') || !onPath('dpkg-deb')) return { missing: 'syslog-ng is not installed and apt-get/dpkg-deb are absent to unpack it' };
    try {
      mkdirSync(root, { recursive: true });
      execFileSync('apt-get', ['download', 'syslog-ng-core'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
      const deb = readdirSync(root).find((f) => f.startsWith('syslog-ng-core_') && f.endsWith('.deb'));
      if (!deb) return { missing: 'apt-get download syslog-ng-core gave no package' };
      execFileSync('dpkg-deb', ['-x', join(root, deb), root], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      return { missing: `syslog-ng could not be unpacked from Debian's syslog-ng-core: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  const lib = join(root, 'usr/lib/syslog-ng');
  const moduleDir = readdirSafe(lib).find((d) => /^\d+\.\d+$/.test(d));
  if (!moduleDir) return { missing: `no syslog-ng module directory under ${lib}` };
  const tool: Tool = { bin: unpacked, env: { LD_LIBRARY_PATH: lib }, args: [`--module-path=${join(lib, moduleDir)}`] };
  try {
    execFileSync(tool.bin, ['--version'], { env: { ...process.env, ...tool.env }, stdio: 'ignore' });
  } catch (err) {
    return { missing: `unpacked syslog-ng does not run (missing libraries? see .ci/apt-packages): ${(err as Error).message.split('\n')[0]}` };
  }
  return tool;
}

export interface Daemon {
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts a daemon in the foreground; stop() sends SIGTERM to its pid and waits. */
export function runDaemon(tool: Tool, args: string[], cwd: string): Daemon {
  const proc = spawn(tool.bin, [...tool.args, ...args], { cwd, env: { ...process.env, ...tool.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGTERM');
      await exited;
    },
  };
}

/** The daemon's own log so far, for failure messages. */
export const tail = (d: Daemon, file?: string): string => [d.output(), file && existsSync(file) ? readFileSync(file, 'utf8') : ''].join('\n').slice(-4000);
