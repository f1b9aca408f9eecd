import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BackendUnavailableError, ConfigError, SocError, retry, sleep } from '@soc/errors';
import { CREDENTIALS_FILE, readCredentials } from '@soc/config';
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
}

export interface ReplaySummary {
  sent: number;
  accepted: number;
  rejected: number;
  requests: number;
  seconds: number;
}

async function post(o: ReplayOptions, lines: string[]): Promise<{ accepted: number; rejected: number }> {
  return retry(
    async () => {
      const res = await fetch(`${o.url.replace(/\/$/, '')}/v1/events?format=${o.format}`, { method: 'POST', body: lines.join('\n'), headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/x-ndjson' } });
      const body = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: number; error?: string };
      if (res.status === 202) return { accepted: body.accepted ?? 0, rejected: body.rejected ?? 0 };
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
  const summary: ReplaySummary = { sent: 0, accepted: 0, rejected: 0, requests: 0, seconds: 0 };
  const reader = new ZeekTsvReader();
  const header: string[] = [];
  const zeekPath = zeekPathFromFileName(o.file);
  let batch: string[] = [];
  let firstEventTime: number | undefined;
  const flush = async () => {
    if (!batch.length) return;
    // TSV rows mean nothing without their header, so every request carries it.
    const r = await post(o, [...header, ...batch]);
    summary.sent += batch.length;
    summary.accepted += r.accepted;
    summary.rejected += r.rejected;
    summary.requests++;
    batch = [];
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
  if (!file) throw new ConfigError('replay needs a FILE', 'file');
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

