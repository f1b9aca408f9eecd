import { Alert, IpAddress, severityRank, type Alert as AlertT } from '@soc/schema';
import { ValidationError } from '@soc/errors';
import { z } from 'zod';
import { parseQuery, type Node } from '@soc/query';
import type { AlertQuery, UpsertFailure } from './port.ts';

/**
 * Pure helpers shared by both adapters, so that validation, the query language, cursors and
 * bucket ordering are defined once and the adapters only translate them.
 */

/** `related_events` keeps at most this many ids after a merge (the schema's own maximum). */
export const RELATED_EVENTS_CAP = 1000;

export const INTERVAL_MS = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;

// ---------------------------------------------------------------- validation at the boundary

/**
 * Every alert is validated here once per upsert (every alert of a storm), so the schema is
 * compiled (`z.compile`: generated straight-line checks; about half the cost of the interpreted
 * parser per alert). A value the generated code does not accept is handed to the interpreted
 * parser, so the outcome, the output and the reasons of a refusal are `Alert`'s own;
 * `validate.fuzz.test.ts` holds the two together.
 */
export const AlertCompiled = z.compile(Alert);

/** Splits a batch into alerts fit to store and per-alert failures (never retriable). */
export function validateBatch(input: readonly unknown[]): { valid: AlertT[]; failed: UpsertFailure[] } {
  const valid: AlertT[] = [];
  const failed: UpsertFailure[] = [];
  for (const raw of input) {
    const parsed = AlertCompiled.safeParse(raw);
    const id = alertIdOf(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      failed.push({ id, reason: `invalid alert: ${reason}`.slice(0, 2000), retriable: false });
      continue;
    }
    // Both adapters index addresses as IPs (ES `ip`); federation pseudonyms must have been moved to labels.
    const badIp = [parsed.data.source?.ip, parsed.data.destination?.ip].find((ip) => ip !== undefined && !IpAddress.safeParse(ip).success);
    if (badIp !== undefined) {
      failed.push({ id, reason: `invalid alert: not an IP address: ${JSON.stringify(badIp).slice(0, 80)}`, retriable: false });
      continue;
    }
    valid.push(parsed.data);
  }
  return { valid, failed };
}

function alertIdOf(raw: unknown): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 ? id.slice(0, 128) : '(no id)';
}

/** An address filter that is not an IP can never match; both adapters refuse it the same way. */
export function assertIpFilters(q: AlertQuery): void {
  for (const key of ['ip', 'source_ip', 'destination_ip'] as const) {
    const v = q[key];
    if (v !== undefined && !IpAddress.safeParse(v).success) throw new ValidationError(`${key} is not an IP address`);
  }
}

export const timeMs = (iso: string): number => Date.parse(iso);

// ---------------------------------------------------------------- the query language

/** The parsed `q` of a query (match-all when absent); throws QueryError with a position. */
export const queryTree = (q: AlertQuery): Node => (q.q === undefined ? { kind: 'all' } : parseQuery(q.q));

// ---------------------------------------------------------------- sorting and cursors

/** The numeric sort key of an alert, as both backends compare it (dates at millisecond precision). */
export function sortValue(a: AlertT, field: AlertQuery['sort']): number {
  switch (field) {
    case '@timestamp':
      return timeMs(a['@timestamp']);
    case 'last_seen':
      return timeMs(a.last_seen);
    case 'score':
      return a.score;
    case 'severity':
      return severityRank(a.severity);
  }
}

/**
 * Whether a sort breaks ties of its value by the alert's time before its id. Score and severity
 * take few distinct values, so under them alerts tie in large groups: newest first (or oldest,
 * ascending) is the order an analyst wants inside a group, and it is the order alerts arrive in,
 * so the store's sort index grows at the end of each group instead of at a random place per
 * alert (the id is a hash), which once the index outgrew a batch cost a page write per alert.
 */
export const TIES_BY_TIME: Record<AlertQuery['sort'], boolean> = { '@timestamp': false, last_seen: false, score: true, severity: true };

/** The numeric keys an alert sorts by under `field`, before its id (both backends compare the same). */
export function sortKeys(a: AlertT, field: AlertQuery['sort']): number[] {
  const v = sortValue(a, field);
  return TIES_BY_TIME[field] ? [v, timeMs(a['@timestamp'])] : [v];
}

/** Opaque cursor: base64url JSON of the sort keys and the id of the last alert of the page. */
export function encodeCursor(keys: readonly number[], id: string): string {
  return Buffer.from(JSON.stringify([...keys, id])).toString('base64url');
}

/** The sort keys and id of a cursor made under the same sort; anything else is malformed. */
export function decodeCursor(cursor: string, field: AlertQuery['sort']): { keys: number[]; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('malformed cursor');
  }
  const n = TIES_BY_TIME[field] ? 2 : 1;
  if (!Array.isArray(parsed) || parsed.length !== n + 1 || typeof parsed[n] !== 'string' || !parsed.slice(0, n).every((k) => typeof k === 'number' && Number.isFinite(k))) {
    throw new ValidationError('malformed cursor (or one from another sort)');
  }
  return { keys: parsed.slice(0, n) as number[], id: parsed[n] as string };
}
