import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CREDENTIALS_FILE, readCredentials } from '@soc/config';
import { ValidationError } from '@soc/errors';
import { pullCollection } from '@soc/federation';
import { UsageError, httpUrl, parseFlags } from './cli.ts';

/**
 * `soc taxii pull COLLECTION_URL`: polls a partner's TAXII 2.1 collection page by page (partner
 * token from SOC_TAXII_TOKEN or --token-file). Without --into the objects go to stdout as one
 * STIX 2.1 bundle; with --into they are imported into that running SOC as partner intelligence
 * from --source (POST /v1/stix, analyst token from SOC_ANALYST_TOKEN or --data-dir) and the
 * per-object answer is printed. Progress on stderr.
 */
export async function taxiiCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'pull') throw new UsageError(sub ? `unknown taxii command "${sub}"` : 'taxii needs a command: pull', 'see soc taxii --help');
  const { values, positionals } = parseFlags(
    rest,
    {
      'added-after': { type: 'string' },
      limit: { type: 'string', default: '1000' },
      'token-file': { type: 'string' },
      into: { type: 'string' },
      source: { type: 'string' },
      'data-dir': { type: 'string', default: env.SOC_DATA_DIR ?? '.soc' },
    },
    'taxii pull',
  );
  if (!positionals[0]) throw new UsageError('taxii pull needs a COLLECTION_URL', 'for example http://partner:8080/taxii2/api/collections/ID/');
  const url = httpUrl(positionals[0], 'COLLECTION_URL');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer', 'see soc taxii --help');
  if (values['added-after'] && Number.isNaN(Date.parse(values['added-after']))) throw new UsageError('--added-after must be a timestamp', 'for example 2026-03-01T00:00:00Z');
  const token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : env.SOC_TAXII_TOKEN;
  if (!token) throw new UsageError('no partner token', 'set SOC_TAXII_TOKEN or pass --token-file FILE');
  if (values.into) httpUrl(values.into, '--into');
  if (values.into && !values.source) throw new UsageError('--into needs --source NAME', 'the feed name the intelligence is recorded under');

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
  if (!analyst) throw new UsageError('no analyst token for --into', 'set SOC_ANALYST_TOKEN or point --data-dir at the data directory');
  const res = await fetch(`${values.into.replace(/\/$/, '')}/v1/stix?source=${encodeURIComponent(values.source!)}`, { method: 'POST', body: JSON.stringify(plain), headers: { authorization: `Bearer ${analyst}`, 'content-type': 'application/json' } });
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 202) throw new ValidationError(`import into ${values.into} answered ${res.status}: ${String(answer.error ?? '')}`);
  process.stdout.write(JSON.stringify({ pulled: plain.objects.length, pages, more, date_added_last, ...answer }) + '\n');
  return 0;
}
