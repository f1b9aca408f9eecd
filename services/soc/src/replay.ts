import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BackendUnavailableError, ConfigError, SocError, retry, sleep } from '@soc/errors';
import { CREDENTIALS_FILE, readCredentials } from '@soc/config';
import { UsageError, httpUrl } from './cli.ts';
import { FORMATS, ZeekTsvReader, parseLine, readLines, zeekPathFromFileName, type Format } from '@soc/parsers';

/**
 * `soc replay FILE`: pushes a sensor file into a running instance over HTTP, like a sensor would.
 * Timing: `--rate N` events per second, or `--speed X` to keep the original spacing of the
 * events' own timestamps compressed X times; neither means as fast as the collector accepts.
 */
export interface ReplayOptions {
  file: string;
  url: string;
  token: string;
  format: Format;
  batch: number;
  rate?: number;
  speed?: number;
  /** Progress lines on stderr this often (rate, sent, rejected and the first reasons). Default 2 s; 0 turns them off. */
  progressMs?: number;
  progress?: NodeJS.WritableStream;
}

export interface ReplaySummary {
  sent: number;
  accepted: number;
  rejected: number;
  requests: number;
  seconds: number;
  /** The first rejections the collector reported: which event line of the file (1-based, directives not counted) and why. */
  first_rejections: { event: number; reason: string }[];
}

type Posted = { accepted: number; rejected: number; errors: { line: number; reason: string }[] };

async function post(o: ReplayOptions, lines: string[]): Promise<Posted> {
  return retry(
    async () => {
      const res = await fetch(`${o.url.replace(/\/$/, '')}/v1/events?format=${o.format}`, { method: 'POST', body: lines.join('\n'), headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/x-ndjson' } });
      const body = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: number; errors?: Posted['errors']; error?: string };
      if (res.status === 202) return { accepted: body.accepted ?? 0, rejected: body.rejected ?? 0, errors: Array.isArray(body.errors) ? body.errors : [] };
      const wait = Number(res.headers.get('retry-after') ?? 1);
      if (res.status === 429 || res.status >= 500) {
        await sleep(Math.min(30, wait) * 1000);
        throw new BackendUnavailableError(`collector answered ${res.status}: ${body.error ?? ''}`);
      }
      throw new SocError(`collector answered ${res.status}: ${body.error ?? ''}`);
    },
    { retries: 8, initialDelayMs: 200 },
  );
}

/** The event time of a line, as the parsers read it; undefined when it has none. */
function eventTime(line: string, format: Format, reader: ZeekTsvReader, zeekPath: string | undefined): number | undefined {
  const r = parseLine(line, { format, source: 'replay', zeekTsv: reader.header, zeekPath });
  return r.ok ? Date.parse(r.event['@timestamp']) : undefined;
}

export async function replay(o: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  const summary: ReplaySummary = { sent: 0, accepted: 0, rejected: 0, requests: 0, seconds: 0, first_rejections: [] };
  const progressMs = o.progressMs ?? 2000;
  let lastProgress = started;
  const progress = () => {
    const s = (Date.now() - started) / 1000;
    const reasons = summary.first_rejections.slice(0, 3).map((r) => `${r.reason}`.slice(0, 160));
    (o.progress ?? process.stderr).write(
      `soc replay: ${summary.sent} sent, ${summary.accepted} accepted, ${summary.rejected} rejected, ${Math.round(summary.sent / Math.max(s, 0.001))} events/s${reasons.length ? `; first rejections: ${reasons.join(' | ')}` : ''}\n`,
    );
  };
  const reader = new ZeekTsvReader();
  const header: string[] = [];
  const zeekPath = zeekPathFromFileName(o.file);
  let batch: string[] = [];
  let firstEventTime: number | undefined;
  const flush = async () => {
    if (!batch.length) return;
    // TSV rows mean nothing without their header, so every request carries it.
    const r = await post(o, [...header, ...batch]);
    // The collector numbers the lines of the request body, which starts with the repeated TSV header.
    for (const e of r.errors) if (summary.first_rejections.length < 10) summary.first_rejections.push({ event: summary.sent + e.line - header.length, reason: e.reason });
    summary.sent += batch.length;
    summary.accepted += r.accepted;
    summary.rejected += r.rejected;
    summary.requests++;
    batch = [];
    if (progressMs > 0 && Date.now() - lastProgress >= progressMs) {
      lastProgress = Date.now();
      progress();
    }
  };
  for await (const line of readLines(o.file)) {
    if (line.trim() === '') continue;
    if (reader.accept(line) === 'directive') {
      if (line.startsWith('#separator')) header.length = 0;
      if (!line.startsWith('#close')) header.push(line);
      continue;
    }
    batch.push(line);
    const n = summary.sent + batch.length;
    let due: number | undefined;
    if (o.rate) due = started + (n / o.rate) * 1000;
    else if (o.speed) {
      const t = eventTime(line, o.format, reader, zeekPath);
      if (t !== undefined) {
        firstEventTime ??= t;
        due = started + (t - firstEventTime) / o.speed;
      }
    }
    if (due !== undefined && due > Date.now()) {
      await flush();
      await sleep(due - Date.now());
    }
    if (batch.length >= o.batch) await flush();
  }
  await flush();
  summary.seconds = (Date.now() - started) / 1000;
  // A long run ends with a last progress line, so stderr shows the final counts too.
  if (progressMs > 0 && lastProgress !== started) progress();
  return summary;
}

export function replayOptions(argv: string[], env: NodeJS.ProcessEnv): ReplayOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: env.SOC_URL ?? 'http://127.0.0.1:8080' },
      token: { type: 'string' },
      'data-dir': { type: 'string', default: env.SOC_DATA_DIR ?? '.soc' },
      format: { type: 'string', default: 'auto' },
      batch: { type: 'string', default: '1000' },
      rate: { type: 'string' },
      speed: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file) throw new UsageError('replay needs a FILE', 'see soc replay --help');
  httpUrl(values.url, '--url');
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new ConfigError(`--format must be one of ${FORMATS.join(', ')}`, 'format');
  if (values.rate && values.speed) throw new ConfigError('give --rate or --speed, not both', 'rate');
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new ConfigError(`--${name} must be a positive number`, name);
    return n;
  };
  const token =
    values.token ??
    env.SOC_SENSOR_TOKEN ??
    readCredentials(join(values['data-dir'], CREDENTIALS_FILE)).find((c) => c.role === 'sensor')?.token;
  if (!token) throw new ConfigError('no sensor token: pass --token, set SOC_SENSOR_TOKEN or point --data-dir at a data directory', 'token');
  return { file, url: values.url, token, format: values.format as Format, batch: num(values.batch, 'batch')!, rate: num(values.rate, 'rate'), speed: num(values.speed, 'speed') };
}

