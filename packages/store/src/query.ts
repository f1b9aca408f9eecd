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

/** Opaque cursor: base64url JSON of [sortValue, id] of the last alert of the page. */
export function encodeCursor(value: number, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('malformed cursor');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'number' || !Number.isFinite(parsed[0]) || typeof parsed[1] !== 'string') {
    throw new ValidationError('malformed cursor');
  }
  return [parsed[0], parsed[1]];
}
