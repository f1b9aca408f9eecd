import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, eveAlert, startSoc } from '../helpers/soc-process.ts';

/**
 * The CLI as a new user meets it, every case a real `soc` child process: --help everywhere,
 * --version, one-line errors `soc: <what> (<hint>)` without a stack trace, exit 2 for usage and
 * 1 for runtime errors, the README's documented pipe, replay progress, and the model registry
 * including the shipped model.
 */
interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { env?: NodeJS.ProcessEnv; shell?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = opts.shell
      ? spawn('sh', ['-c', opts.shell], { cwd: ROOT, env: { ...process.env, SOC_LOG_LEVEL: 'error', ...opts.env } })
      : spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services/soc/src/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, SOC_LOG_LEVEL: 'error', SOC_DEBUG: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs many in a small pool: the machine is shared and each child loads the whole CLI. */
async function runAll<T>(items: T[], fn: (x: T) => Promise<Run>, width = 3): Promise<Run[]> {
  const out: Run[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

/** One line on stderr, in the `soc: what (hint)` form, and no stack frames. */
function expectOneLineError(r: Run, status: number, what: RegExp): void {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^soc: .+ \(.+\)$/);
  expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** Zeek conn JSON lines: a few hosts talking to a few services for an hour. */
function connLog(n: number): string {
  const t0 = Date.UTC(2026, 10, 1, 9) / 1000;
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({ ts: t0 + i * 7, uid: `C${i}`, 'id.orig_h': `10.0.0.${(i % 5) + 10}`, 'id.orig_p': 50000 + i, 'id.resp_h': `10.0.1.${i % 3}`, 'id.resp_p': [53, 443, 445][i % 3], proto: 'tcp', service: 'ssl', duration: 0.5 + (i % 4), orig_bytes: 300 + (i % 11) * 20, resp_bytes: 2000 + (i % 13) * 100, conn_state: 'SF', orig_pkts: 5, resp_pkts: 6 }),
  ).join('\n') + '\n';
}

describe('soc CLI as a person meets it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'soc-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has --help with usage on every command and subcommand (exit 0), and --version', async () => {
    const commands = [['start'], ['indexer'], ['parse'], ['eval-kdd'], ['eval-conn'], ['model'], ['model', 'fit'], ['model', 'list'], ['model', 'rollback'], ['replay'], ['keygen'], ['taxii'], ['taxii', 'pull'], ['demo']];
    const runs = await runAll([...commands.map((c) => [...c, '--help']), ['help', 'replay'], ['--version']], (args) => run(args));
    for (const [i, c] of commands.entries()) {
      expect(runs[i]!.status, `${c.join(' ')} --help: ${runs[i]!.stderr}`).toBe(0);
      expect(runs[i]!.stdout).toMatch(new RegExp(`^usage: soc ${c[0]} `));
    }
    expect(runs[commands.length]!.stdout).toMatch(/^usage: soc replay FILE/);
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(runs.at(-1)).toMatchObject({ status: 0, stdout: `soc ${version}\n` });
  }, 120_000);

  it('answers usage errors with one line and exit 2: unknown flags, unknown commands, a URL without scheme, a flag missing its value', async () => {
    const [flag, sub, cmd, url, value, none] = await runAll(
      [['start', '--prot', '8080'], ['model', 'list', '--verbose'], ['frobnicate'], ['replay', 'deploy/demo/eve-sample.json', '--url', '127.0.0.1:8080', '--token', 't'], ['replay', 'x', '--rate'], ['parse', '--format', 'suricata']],
      (args) => run(args),
    );
    expectOneLineError(flag!, 2, /unknown option --prot \(see soc start --help\)/);
    expectOneLineError(sub!, 2, /unknown option --verbose/);
    expectOneLineError(cmd!, 2, /unknown command "frobnicate"/);
    expectOneLineError(url!, 2, /--url must be an http\(s\) URL, got "127.0.0.1:8080"/);
    expectOneLineError(value!, 2, /option --rate needs a value/);
    expectOneLineError(none!, 2, /parse needs a FILE/);
  }, 120_000);

  it('answers runtime errors with one line and exit 1: port in use, unwritable data dir, dead URL, files without conn records; SOC_DEBUG=1 adds the stack', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const dead = await freePort();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    writeFileSync(join(dir, 'few-conn.log'), connLog(4));
    try {
      const [inUse, unwritable, deadUrl, eve, few, debug] = await runAll(
        [
          ['start', '--data-dir', join(dir, 'busy'), '--port', String(port)],
          ['start', '--data-dir', join(dir, 'not-a-dir', 'data')],
          ['replay', 'deploy/demo/eve-sample.json', '--url', `http://127.0.0.1:${dead}`, '--token', 't'],
          ['eval-conn', 'deploy/demo/eve-sample.json'],
          ['eval-conn', join(dir, 'few-conn.log')],
          ['eval-conn', 'deploy/demo/eve-sample.json', '--debug-me'],
        ],
        (args) => run(args, args.includes('--debug-me') ? { env: { SOC_DEBUG: '1' } } : {}),
      );
      expectOneLineError(inUse!, 1, new RegExp(`127\\.0\\.0\\.1:${port} is already in use \\(.*--port`));
      expectOneLineError(unwritable!, 1, /cannot mkdir .*not-a-dir\/data: a parent is not a directory/);
      expectOneLineError(deadUrl!, 1, new RegExp(`cannot reach 127\\.0\\.0\\.1:${dead} \\(ECONNREFUSED\\)`));
      expect(eve!.status).toBe(1);
      expect(eve!.stderr.trim()).toMatch(/^soc: a site baseline needs at least 10 flows from Zeek conn logs \(JSON or TSV\), got 0$/);
      expect(few!.stderr.trim()).toMatch(/got 4$/);
      expect(debug!.status).toBe(2);
      expect(debug!.stderr).toMatch(/^soc: unknown option --debug-me/);
      expect(debug!.stderr).toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
  }, 120_000);

  it('lists the shipped model, accepts --model VERSION as model list prints it, and rolls back to the shipped model', async () => {
    const data = join(dir, 'models-data');
    const conn = join(dir, 'conn.log');
    writeFileSync(conn, connLog(400));
    const fit = await run(['model', 'fit', conn, '--data-dir', data, '--name', 'site-a']);
    expect(fit.status, fit.stderr).toBe(0);
    const list = await run(['model', 'list', '--data-dir', data]);
    expect(list.status, list.stderr).toBe(0);
    const models = (JSON.parse(list.stdout) as { models: { version: string; active: boolean; shipped?: boolean }[] }).models;
    expect(models.map((m) => [m.version, m.active, m.shipped ?? false])).toEqual([
      ['shipped', false, true],
      ['site-a', true, false],
    ]);
    const [evalByName, rollback] = await runAll([['eval-conn', conn, '--model', 'site-a', '--data-dir', data], ['model', 'rollback', '--data-dir', data]], (args) => run(args), 1);
    expect(evalByName!.status, evalByName!.stderr).toBe(0);
    expect(JSON.parse(evalByName!.stdout)).toMatchObject({ model: 'site-a', flows: 400 });
    expect(rollback!.status, rollback!.stderr).toBe(0);
    expect(JSON.parse(rollback!.stdout).active.version).toBe('shipped');
    const after = JSON.parse((await run(['model', 'list', '--data-dir', data])).stdout) as { models: { version: string; active: boolean }[] };
    expect(after.models.find((m) => m.active)?.version).toBe('shipped');
  }, 180_000);

  it('keeps stdout clean JSON for the README pipe: pnpm -s soc parse ... | jq', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const documented = /^(pnpm -s soc parse [^\n]*\| jq[^\n]*)$/m.exec(readme)?.[1];
    expect(documented, 'README documents a pnpm -s soc parse ... | jq line').toBeDefined();
    const r = await run([], { shell: documented! });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(JSON.parse(lines[0]!)).toHaveProperty('@timestamp');
  }, 120_000);

  it('shows replay progress on stderr (rate, sent, rejected with the first reasons) and a JSON summary on stdout', async () => {
    const data = join(dir, 'replay-data');
    const soc = await startSoc({ dataDir: data });
    try {
      const file = join(dir, 'long-eve.json');
      const lines = Array.from({ length: 3000 }, (_, i) => (i % 500 === 7 ? '{"event_type":"alert","src_ip":"not-json' : eveAlert(i)));
      writeFileSync(file, lines.join('\n') + '\n');
      const r = await run(['replay', file, '--url', soc.url, '--data-dir', data, '--rate', '1200', '--batch', '200']);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { sent: number; accepted: number; rejected: number; first_rejections: { event: number; reason: string }[] };
      expect(summary).toMatchObject({ sent: 3000, accepted: 2994, rejected: 6 });
      expect(summary.first_rejections[0]).toMatchObject({ event: 8 });
      const progress = r.stderr.split('\n').filter((l) => l.startsWith('soc replay: '));
      expect(progress.length, r.stderr).toBeGreaterThanOrEqual(2);
      expect(progress.at(-1)).toMatch(/^soc replay: 3000 sent, 2994 accepted, 6 rejected, \d+ events\/s; first rejections: .+/);
    } finally {
      await soc.stop();
    }
  }, 180_000);
});
