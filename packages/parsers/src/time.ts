/**
 * Timestamp normalisation. Sensors give microsecond (Zeek, Suricata) or nanosecond precision,
 * which a JS Date would round to milliseconds; two renderings of the same record (Zeek JSON and
 * TSV) must yield the same `@timestamp`, so times are handled as text and rendered canonically:
 * UTC, `Z`, at least six fractional digits (up to nine kept).
 */

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const EPOCH_RE = /^(-?)(\d{1,12})(?:\.(\d{1,9}))?$/;
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
const MIN_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z: ECS timestamps have four-digit years

/** The last whole second rendered: a sensor's lines come in time order, many per second. */
let lastMs = NaN;
let lastBase = '';

function render(ms: number, fraction: string): string | undefined {
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) return undefined;
  if (ms !== lastMs) {
    lastBase = new Date(ms).toISOString().slice(0, 19);
    lastMs = ms;
  }
  return `${lastBase}.${fraction.length >= 6 ? fraction : fraction.padEnd(6, '0')}Z`;
}

/** ISO 8601 / RFC 3339 text (`Z`, `+0000`, `+00:00` or no zone = UTC) to the canonical form. */
export function canonicalIso(text: string): string | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), min = Number(mi), sec = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return undefined;
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCDate() !== day) return undefined; // 31 April and friends
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2)), om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  // A leap second (sec = 60) is folded into the next second by Date.UTC, which is what ECS stores.
  const ms = Date.UTC(year, month - 1, day, hour, min, sec) - offsetMin * 60_000;
  return render(ms, frac);
}

/** Seconds since the epoch, as decimal text (Zeek TSV `time`) or a JSON number. */
export function canonicalEpoch(value: string | number): string | undefined {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? value.toFixed(6) : '') : value.trim();
  // A Zeek JSON `ts` (a number at or after 1970): toFixed(6) gives `<digits>.<6 digits>`, or
  // exponent form from 1e21, which has no '.' 7 places from the end. What EPOCH_RE below takes
  // apart, without the regex: this runs once per Zeek JSON line.
  if (typeof value === 'number' && value >= 0 && text.length <= 19 && text.charCodeAt(text.length - 7) === 0x2e) {
    return render(Number(text.slice(0, -7)) * 1000, text.slice(-6));
  }
  const m = EPOCH_RE.exec(text);
  if (!m) return undefined;
  const [, sign, int, frac = ''] = m;
  const digits = Math.max(6, frac.length);
  const nanos = Number(frac.padEnd(9, '0'));
  if (sign !== '-' || nanos === 0) return render(Number(`${sign}${int}`) * 1000, frac);
  // Before 1970 the fraction counts back from the next second: -1.25 s is 1969-12-31T23:59:58.75.
  const complement = String(1e9 - nanos).padStart(9, '0').slice(0, digits);
  return render(-(Number(int) + 1) * 1000, complement);
}

/** Whatever a sensor put in a time field: epoch seconds (number or text) or ISO text. */
export function canonicalTime(value: unknown): string | undefined {
  if (typeof value === 'number') return canonicalEpoch(value);
  if (typeof value !== 'string') return undefined;
  return EPOCH_RE.test(value.trim()) ? canonicalEpoch(value) : canonicalIso(value);
}

/** Nanoseconds in `seconds` (ECS `event.duration`), or undefined when it is no duration. */
export function secondsToNanos(seconds: unknown): number | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.round(seconds * 1e9);
}

/** Milliseconds between two canonical timestamps as nanoseconds (ECS `event.duration`). */
export function nanosBetween(start: string, end: string): number | undefined {
  const frac = (t: string): number => Number(`0.${t.slice(20, -1)}`);
  const a = Date.parse(start.slice(0, 19) + 'Z') / 1000 + frac(start);
  const b = Date.parse(end.slice(0, 19) + 'Z') / 1000 + frac(end);
  return secondsToNanos(b - a);
}
