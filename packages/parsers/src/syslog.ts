import { canonicalIso } from './time.ts';
import type { Draft, DraftOutcome } from './types.ts';
import { clip } from './util.ts';

/**
 * Syslog: RFC 5424 and the BSD format RFC 3164 describes, with the tolerance RFC 3164 §4.3 asks
 * of a relay (a missing PRI means user.notice; a missing or unparsable timestamp means the
 * whole remainder is the message, timed at reception). RFC 3164 timestamps carry neither year
 * nor zone: the year is the reception year (the previous one if that would put the message more
 * than a day in the future) and the zone is taken as UTC.
 */

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];
const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DEFAULT_PRI = 13; // user.notice, RFC 3164 §4.3.3

const PRI_RE = /^<(\d{1,3})>/;
const V5424_RE = /^([1-9]\d{0,2}) /;
const BSD_TS_RE = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?: |$)/;
const ISO_TS_RE = /^(\d{4}-\d{2}-\d{2}T\S+)(?: |$)/;
const TAG_RE = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{0,128})\])?: ?/;

interface Header {
  priority: number;
  version?: number;
  timestamp?: string;
  hostname?: string;
  appname?: string;
  procid?: string;
  msgid?: string;
  structuredData?: Record<string, Record<string, string>>;
  message: string;
}

type HeaderOutcome = { ok: true; header: Header } | { ok: false; reason: string };

const nil = (token: string | undefined): string | undefined => (token === undefined || token === '-' ? undefined : token);

/** RFC 5424 §6.3 structured data; returns the parsed elements and the rest of the line. */
function parseStructuredData(text: string): { ok: true; sd?: Header['structuredData']; rest: string } | { ok: false; reason: string } {
  if (text.startsWith('-')) return { ok: true, rest: text.slice(1) };
  const sd: Record<string, Record<string, string>> = {};
  let i = 0;
  if (text[0] !== '[') return { ok: false, reason: 'syslog RFC 5424: structured data must be "-" or start with "["' };
  while (text[i] === '[') {
    const idEnd = text.slice(i + 1).search(/[ \]]/);
    if (idEnd <= 0) return { ok: false, reason: 'syslog RFC 5424: structured data element without SD-ID' };
    const id = text.slice(i + 1, i + 1 + idEnd);
    const params: Record<string, string> = {};
    i += 1 + idEnd;
    while (text[i] === ' ') {
      const m = /^ ([^= \]"]{1,32})="/.exec(text.slice(i));
      if (!m) return { ok: false, reason: `syslog RFC 5424: malformed parameter in [${id}]` };
      i += m[0].length;
      let value = '';
      for (;;) {
        const c = text[i];
        if (c === undefined) return { ok: false, reason: `syslog RFC 5424: unterminated value of ${m[1]} in [${id}]` };
        if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\' || text[i + 1] === ']')) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      params[m[1]!] = value;
    }
    if (text[i] !== ']') return { ok: false, reason: `syslog RFC 5424: structured data element [${id}] not closed` };
    i++;
    sd[id] = params;
  }
  return { ok: true, sd, rest: text.slice(i) };
}

function parse5424(priority: number, version: number, text: string): HeaderOutcome {
  const tokens: string[] = [];
  let rest = text;
  for (let k = 0; k < 5; k++) {
    const sp = rest.indexOf(' ');
    if (sp <= 0) return { ok: false, reason: `syslog RFC 5424: header ends after ${k} of 5 fields (TIMESTAMP HOSTNAME APP-NAME PROCID MSGID)` };
    tokens.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const [ts, hostname, appname, procid, msgid] = tokens;
  let timestamp: string | undefined;
  if (ts !== '-') {
    timestamp = canonicalIso(ts!);
    if (!timestamp) return { ok: false, reason: `syslog RFC 5424: invalid TIMESTAMP ${JSON.stringify(ts!.slice(0, 40))}` };
  }
  const sd = parseStructuredData(rest);
  if (!sd.ok) return sd;
  if (sd.rest !== '' && !sd.rest.startsWith(' ')) return { ok: false, reason: 'syslog RFC 5424: no space between STRUCTURED-DATA and MSG' };
  const message = sd.rest.slice(1).replace(/^\uFEFF/, '');
  return { ok: true, header: { priority, version, timestamp, hostname: nil(hostname), appname: nil(appname), procid: nil(procid), msgid: nil(msgid), structuredData: sd.sd, message } };
}

function bsdTimestamp(m: RegExpExecArray, receivedAt: Date): string | undefined {
  const month = MONTHS.indexOf(m[1]!);
  const day = Number(m[2]), h = Number(m[3]), mi = Number(m[4]), s = Number(m[5]);
  if (month < 0 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const at = (year: number): number | undefined => {
    const ms = Date.UTC(year, month, day, h, mi, s);
    return new Date(ms).getUTCDate() === day || s === 60 ? ms : undefined;
  };
  const year = receivedAt.getUTCFullYear();
  let ms = at(year);
  if (ms === undefined || ms > receivedAt.getTime() + 86_400_000) ms = at(year - 1);
  return ms === undefined ? undefined : canonicalIso(new Date(ms).toISOString());
}

function parse3164(priority: number, text: string, receivedAt: Date): Header {
  let rest = text;
  let timestamp: string | undefined;
  let hostname: string | undefined;
  const bsd = BSD_TS_RE.exec(rest);
  const iso = bsd ? undefined : ISO_TS_RE.exec(rest);
  timestamp = bsd ? bsdTimestamp(bsd, receivedAt) : iso ? canonicalIso(iso[1]!) : undefined;
  if (timestamp) {
    rest = rest.slice((bsd ?? iso)![0].length);
    // The HOSTNAME is the next word unless that word is already the TAG ("sshd[42]:").
    const sp = rest.indexOf(' ');
    const word = sp < 0 ? rest : rest.slice(0, sp);
    if (word && sp > 0 && !TAG_RE.test(rest)) {
      hostname = word;
      rest = rest.slice(sp + 1);
    }
  }
  const tag = TAG_RE.exec(rest);
  return {
    priority,
    timestamp,
    hostname,
    appname: tag?.[1],
    procid: tag?.[2] || undefined,
    message: tag ? rest.slice(tag[0].length) : rest,
  };
}

function parseHeader(line: string, receivedAt: Date): HeaderOutcome {
  let priority = DEFAULT_PRI;
  let rest = line;
  if (line.startsWith('<')) {
    const m = PRI_RE.exec(line);
    if (!m) return { ok: false, reason: 'syslog: malformed PRI (expected <0..191>)' };
    priority = Number(m[1]);
    if (priority > 191) return { ok: false, reason: `syslog: PRI ${priority} out of range 0..191` };
    rest = line.slice(m[0].length);
  }
  const v = V5424_RE.exec(rest);
  if (v) return parse5424(priority, Number(v[1]), rest.slice(v[0].length));
  return { ok: true, header: parse3164(priority, rest, receivedAt) };
}

export function mapSyslog(line: string, receivedAt: Date): DraftOutcome {
  if (line.trim() === '') return { ok: false, reason: 'syslog: empty message' };
  const parsed = parseHeader(line, receivedAt);
  if (!parsed.ok) return parsed;
  const h = parsed.header;
  const facility = h.priority >> 3;
  const severity = h.priority & 7;
  const pid = h.procid !== undefined && /^\d{1,9}$/.test(h.procid) ? Number(h.procid) : undefined;
  const draft: Draft = {
    '@timestamp': h.timestamp ?? receivedAt.toISOString(),
    event: { kind: 'event', category: [], type: ['info'], dataset: 'syslog', module: 'syslog' },
    message: clip(h.message || undefined, 65_536),
    host: { hostname: clip(h.hostname, 256) },
    process: { name: clip(h.appname, 256), pid },
    log: {
      level: SEVERITIES[severity],
      syslog: {
        priority: h.priority,
        facility: { code: facility, name: FACILITIES[facility] },
        severity: { code: severity, name: SEVERITIES[severity] },
        hostname: h.hostname,
        appname: h.appname,
        procid: h.procid,
        msgid: h.msgid,
        structured_data: h.structuredData,
        // ECS log.syslog.version is a keyword.
        version: h.version === undefined ? undefined : String(h.version),
      },
    },
  };
  return { ok: true, draft };
}
