import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CREDENTIALS_FILE, readCredentials } from '@soc/config';
import { ConfigError, ValidationError } from '@soc/errors';
import { pullCollection } from '@soc/federation';

export const TAXII_USAGE = `usage: soc taxii pull COLLECTION_URL [--added-after ISO] [--limit N] [--token-file FILE]
                      [--into API_URL --source NAME [--data-dir DIR]]

Polls a partner's TAXII 2.1 collection (COLLECTION_URL ends in /collections/{id}/) page by page.
The partner token comes from SOC_TAXII_TOKEN or --token-file. Without --into the objects are
printed as one STIX 2.1 bundle on stdout; with --into they are imported into that running SOC as
partner intelligence from NAME (POST /v1/stix; analyst token from SOC_ANALYST_TOKEN or --data-dir)
and the per-object answer is printed. Progress goes to stderr.`;

/** `soc taxii pull`: one exit code, JSON on stdout, progress on stderr. */
export async function taxiiCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(TAXII_USAGE + '\n');
    return sub ? 0 : 2;
  }
  if (sub !== 'pull') throw new ConfigError(`unknown taxii command "${sub}" (soc taxii --help)`, 'command');
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      'added-after': { type: 'string' },
      limit: { type: 'string', default: '1000' },
      'token-file': { type: 'string' },
      into: { type: 'string' },
      source: { type: 'string' },
      'data-dir': { type: 'string', default: env.SOC_DATA_DIR ?? '.soc' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(TAXII_USAGE + '\n');
    return 0;
  }
  const url = positionals[0];
  if (!url || !/^https?:\/\//.test(url)) throw new ConfigError('taxii pull needs a COLLECTION_URL (http(s)://…/collections/{id}/)', 'url');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError('--limit must be a positive integer', 'limit');
  if (values['added-after'] && Number.isNaN(Date.parse(values['added-after']))) throw new ConfigError('--added-after must be a timestamp such as 2026-03-01T00:00:00Z', 'added-after');
  const token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : env.SOC_TAXII_TOKEN;
  if (!token) throw new ConfigError('no partner token: set SOC_TAXII_TOKEN or pass --token-file FILE', 'token');
  if (values.into && !values.source) throw new ConfigError('--into needs --source NAME (the feed name the intelligence is recorded under)', 'source');

  let pages = 0;
  let total = 0;
  const bundle = await pullCollection({
    url, token, limit, addedAfter: values['added-after'],
    onPage: (n) => {
      pages++;
      total += n;
      process.stderr.write(`soc: taxii page ${pages}: ${n} objects (${total} so far)\n`);
    },
  });
  const { more, date_added_last, ...plain } = bundle;
  if (!values.into) {
    process.stdout.write(JSON.stringify(plain) + '\n');
    return 0;
  }
  const analyst = env.SOC_ANALYST_TOKEN ?? readCredentials(join(values['data-dir'], CREDENTIALS_FILE)).find((c) => c.role === 'analyst')?.token;
  if (!analyst) throw new ConfigError('no analyst token for --into: set SOC_ANALYST_TOKEN or point --data-dir at the data directory', 'token');
  const res = await fetch(`${values.into.replace(/\/$/, '')}/v1/stix?source=${encodeURIComponent(values.source!)}`, { method: 'POST', body: JSON.stringify(plain), headers: { authorization: `Bearer ${analyst}`, 'content-type': 'application/json' } });
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 202) throw new ValidationError(`import into ${values.into} answered ${res.status}: ${String(answer.error ?? '')}`);
  process.stdout.write(JSON.stringify({ pulled: plain.objects.length, pages, more, date_added_last, ...answer }) + '\n');
  return 0;
}
