import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { normaliseBatch, readLines, zeekPathFromFileName, type ParseContext } from '@soc/parsers';
import { parseIp, CidrSet } from '@soc/netaddr';
import { Alert, alertId, type EcsEvent } from '@soc/schema';
import { ALERT_MAPPINGS, toEsDoc } from '../../packages/store/src/es-layout.ts';
import { leafPaths, mappedTypes } from '../../packages/store/src/es-fields.ts';

/**
 * Every field the product emits, held against ECS's own generated field list (elastic/ecs
 * generated/ecs/ecs_flat.yml, vendored with its licence): the normalised events of every sensor
 * format, and the stored alert document with its Elasticsearch mapping. Sensor specifics may only
 * live in the sensor's namespace (`zeek.*`, `suricata.*`), alert specifics only under `soc.*`.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
interface EcsField { type: string; normalize?: string[] }
const ECS = parseYaml(gunzipSync(readFileSync(join(ROOT, 'test/fixtures/reference/ecs/ecs_flat.yml.gz'))).toString('utf8'), { maxAliasCount: -1 }) as Record<string, EcsField>;
const ECS_VERSION = readFileSync(join(ROOT, 'test/fixtures/reference/ecs/SOURCE.md'), 'utf8').match(/ECS ([\d.]+(?:-[a-z]+)?)/)?.[1];

const CUSTOM_EVENT = /^(zeek|suricata)\./;
/** Documented departures, each with its reason; the test fails if one disappears or another appears. */
const EVENT_MISMATCHES: Record<string, string> = {};

const TEXTUAL = new Set(['keyword', 'constant_keyword', 'wildcard', 'match_only_text', 'text']);
const INTEGRAL = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const FLOATING = new Set(['float', 'double', 'scaled_float', 'half_float']);

/** The ECS field that owns a path: itself, or an ancestor of type object/flattened/nested. */
function ecsOwner(path: string): [string, EcsField] | undefined {
  if (ECS[path]) return [path, ECS[path]!];
  const parts = path.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const p = parts.slice(0, i).join('.');
    const f = ECS[p];
    if (f && ['object', 'flattened', 'nested'].includes(f.type)) return [p, f];
  }
  return undefined;
}

function typeProblem(f: EcsField, v: unknown): string | undefined {
  const values = Array.isArray(v) ? v : [v];
  if (f.normalize?.includes('array') && !Array.isArray(v)) return `ECS normalises it to an array, got ${JSON.stringify(v)}`;
  for (const x of values) {
    const t = f.type;
    const ok = TEXTUAL.has(t) ? typeof x === 'string'
      : INTEGRAL.has(t) ? Number.isInteger(x)
      : FLOATING.has(t) ? typeof x === 'number'
      : t === 'boolean' ? typeof x === 'boolean'
      : t === 'date' ? typeof x === 'string' && !Number.isNaN(Date.parse(x))
      : t === 'ip' ? typeof x === 'string' && parseIp(x) !== undefined
      : t === 'object' || t === 'flattened' || t === 'nested' ? true
      : true;
    if (!ok) return `ECS type ${t}, got ${JSON.stringify(x)}`;
  }
  return undefined;
}

function valueAt(doc: unknown, path: string): unknown[] {
  let cur: unknown[] = [doc];
  for (const k of path.split('.')) cur = cur.flatMap((c) => (Array.isArray(c) ? c : [c])).flatMap((c) => (c && typeof c === 'object' && k in c ? [(c as Record<string, unknown>)[k]] : []));
  return cur;
}

/** Every event-field problem: not in ECS and not in a sensor namespace, or the wrong ECS type. */
function checkEvents(events: EcsEvent[]): { fields: Set<string>; problems: Map<string, string> } {
  const fields = new Set<string>();
  const problems = new Map<string, string>();
  for (const e of events) {
    for (const path of leafPaths(e)) {
      if (CUSTOM_EVENT.test(path)) continue;
      fields.add(path);
      const owner = ecsOwner(path);
      if (!owner) {
        problems.set(path, 'not an ECS field');
        continue;
      }
      if (owner[0] !== path) continue; // inside an ECS object field (labels, log.syslog structured data…)
      for (const v of valueAt(e, path)) {
        const p = typeProblem(owner[1], v);
        if (p) problems.set(path, p);
      }
    }
  }
  return { fields, problems };
}

async function fixtureEvents(): Promise<EcsEvent[]> {
  const internal = new CidrSet(['10.0.0.0/8', '192.168.0.0/16', '172.16.0.0/12']);
  const out: EcsEvent[] = [];
  const add = (lines: string[], ctx: ParseContext) => {
    for (const o of normaliseBatch(lines, { ...ctx, internal }).outcomes) if (o?.ok) out.push(o.event);
  };
  const lines = (f: string) => readFileSync(join(ROOT, f), 'utf8').split('\n').filter(Boolean);
  add(lines('packages/parsers/fixtures/conn.json'), { format: 'zeek', source: 'test' });
  add(lines('packages/parsers/fixtures/conn.tsv.log'), { format: 'zeek', source: 'test' });
  add(lines('packages/parsers/fixtures/suricata.eve.json'), { format: 'suricata', source: 'test' });
  add(lines('packages/parsers/fixtures/syslog.txt'), { format: 'syslog', source: 'test' });
  add(lines('deploy/demo/eve-sample.json'), { format: 'suricata', source: 'test' });
  // Logs whose mapping the small fixtures do not reach: one line each, as Zeek writes them.
  add([
    JSON.stringify({ _path: 'conn', ts: 1700000000.1, uid: 'Cicmp1', 'id.orig_h': '10.0.0.5', 'id.orig_p': 8, 'id.resp_h': '198.51.100.9', 'id.resp_p': 0, proto: 'icmp', conn_state: 'OTH', orig_pkts: 1, orig_ip_bytes: 84, resp_pkts: 1, resp_ip_bytes: 84 }),
    JSON.stringify({ _path: 'dns', ts: 1700000000.2, uid: 'Cdns1', 'id.orig_h': '10.0.0.5', 'id.orig_p': 5353, 'id.resp_h': '10.0.0.1', 'id.resp_p': 53, proto: 'udp', trans_id: 4711, query: 'example.org', qtype_name: 'A', rcode_name: 'NOERROR', answers: ['93.184.215.14'] }),
    JSON.stringify({ _path: 'smtp', ts: 1700000000.3, uid: 'Csmtp1', 'id.orig_h': '10.0.0.5', 'id.orig_p': 40000, 'id.resp_h': '198.51.100.25', 'id.resp_p': 25, mailfrom: 'a@example.org', rcptto: ['b@example.net'], subject: 'hi', msg_id: '<1@example.org>' }),
    JSON.stringify({ _path: 'files', ts: 1700000000.4, fuid: 'F1', tx_hosts: ['198.51.100.80'], rx_hosts: ['10.0.0.5'], source: 'HTTP', mime_type: 'application/x-dosexec', filename: 'a.exe', total_bytes: 1000, md5: 'b2a5abfeef9e36964281a31e17b57c97', sha1: '2920d5e6c579fce772e5506caf03af65579088bd' }),
    JSON.stringify({ _path: 'http', ts: 1700000000.5, uid: 'Chttp1', 'id.orig_h': '10.0.0.5', 'id.orig_p': 40001, 'id.resp_h': '198.51.100.80', 'id.resp_p': 80, method: 'GET', host: 'example.org', uri: '/a', version: '1.1', user_agent: 'curl', status_code: 200 }),
    JSON.stringify({ _path: 'ssl', ts: 1700000000.6, uid: 'Cssl1', 'id.orig_h': '10.0.0.5', 'id.orig_p': 40002, 'id.resp_h': '198.51.100.80', 'id.resp_p': 443, version: 'TLSv13', server_name: 'example.org', established: true }),
  ], { format: 'zeek', source: 'test' });
  const real = join(ROOT, '../shared/data');
  for (const set of ['zeek-wrccdc-2018', 'zeek-real']) {
    const dir = join(real, set);
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(json|log)(\.gz)?$/.test(f));
    for (const f of files) {
      const ls: string[] = [];
      for await (const l of readLines(join(dir, f))) {
        ls.push(l);
        if (ls.length >= 300) break;
      }
      add(ls, { format: 'auto', source: `file:${f}`, zeekPath: zeekPathFromFileName(f.split('/').pop()!) });
    }
  }
  return out;
}

describe(`ECS conformance (ecs_flat.yml, ECS ${ECS_VERSION})`, () => {
  it('every field of every normalised event is an ECS field of the right type, or in the sensor namespace', async () => {
    const events = await fixtureEvents();
    expect(events.length).toBeGreaterThan(20);
    const { fields, problems } = checkEvents(events);
    process.stderr.write(`ECS events: ${events.length} events, ${fields.size} distinct non-sensor fields checked, ${problems.size} mismatches\n`);
    expect(Object.fromEntries(problems)).toEqual(EVENT_MISMATCHES);
    // The fields the issue named, present and typed as ECS wants.
    for (const f of ['network.community_id', 'network.direction', 'dns.id', 'email.from.address', 'source.bytes', 'file.hash.md5']) expect(fields, f).toContain(f);
    expect([...fields].filter((f) => /^(connection|ssh)\./.test(f))).toEqual([]);
    expect(events.filter((e) => e.event.dataset === 'suricata.flow' || e.event.dataset === 'zeek.conn').every((e) => e.network?.community_id)).toBe(true);
  });

  it('the check does fail: a non-ECS field and a wrong type are reported', () => {
    const bad = { '@timestamp': '2024-01-01T00:00:00Z', event: { id: 'x', kind: 'event', category: [], type: [], dataset: 'd' }, connection: { state: 'SF' }, dns: { id: 7 } } as unknown as EcsEvent;
    expect([...checkEvents([bad]).problems.keys()].sort()).toEqual(['connection.state', 'dns.id']);
  });

  const ALERT_MISMATCHES: Record<string, string> = {
    // ECS labels is an object of keywords; flattened keeps that per-key keyword behaviour under a
    // strict mapping without a new mapping field for every label key.
    labels: 'flattened (ECS: object of keywords)',
    // Free-text search on rule names, as the embedded FTS5 index offers it; an added multi-field.
    'rule.name.text': 'not in ECS (multi-field added for full-text search)',
  };

  it('the alert index: ECS names and types wherever ECS has the field, everything else under soc.*', () => {
    const mapped = mappedTypes(ALERT_MAPPINGS.properties as never);
    const problems: Record<string, string> = {};
    let checked = 0;
    for (const [path, type] of mapped) {
      if (path.startsWith('soc.')) continue;
      checked++;
      const f = ECS[path];
      if (!f) {
        const owner = ecsOwner(path);
        problems[path] = owner ? `${type} (ECS: ${owner[1].type})` : 'not in ECS (multi-field added for full-text search)';
        continue;
      }
      if (f.type !== type) problems[path] = `${type} (ECS: ${f.type === 'object' ? 'object of keywords' : f.type})`;
    }
    process.stderr.write(`ECS alert index: ${mapped.length} mapped fields, ${checked} outside soc.* checked against ECS, ${Object.keys(problems).length} documented mismatches\n`);
    expect(problems).toEqual(ALERT_MISMATCHES);
    for (const [f, t] of [['source.port', 'long'], ['rule.name', 'keyword'], ['message', 'match_only_text'], ['event.severity', 'long'], ['related.ip', 'ip'], ['threat.technique.id', 'keyword']]) expect(mapped).toContainEqual([f, t]);
  });

  it('every field of the stored alert document is mapped, typed as ECS says, with event.kind alert', () => {
    const a = Alert.parse({
      id: alertId('suricata', '2001219', 'x'), '@timestamp': '2024-03-01T10:00:00.000Z', first_seen: '2024-03-01T09:00:00.000Z', last_seen: '2024-03-01T10:00:00.000Z',
      detector: 'suricata', rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan', category: 'recon' }, score: 0.9, severity: 'high', message: 'scan',
      explanation: { summary: 's', features: [{ name: 'f', value: 1, contribution: 0.5 }], values: { k: 'v' } },
      source: { ip: '203.0.113.9', port: 4000 }, destination: { ip: '10.0.0.5', port: 22 }, host: { name: 'h' }, network: { transport: 'tcp', protocol: 'ssh' },
      count: 3, related_events: ['e1'], origin: { soc: 'soc-ee', country: 'EE', name: 'CERT-EE' }, tlp: 'AMBER', status: 'new',
      federation: { message_id: 'm', received_at: '2024-03-01T10:00:01.000Z', hops: 1, path: ['soc-lv'] }, links: [{ type: 't', alert_id: 'x', origin: 'soc-lv' }], labels: { a: 'b' },
    });
    const doc = toEsDoc(a);
    const mapped = new Map(mappedTypes(ALERT_MAPPINGS.properties as never));
    for (const path of leafPaths(doc)) {
      expect(mapped.has(path), path).toBe(true);
      if (path.startsWith('soc.') || !ECS[path]) continue;
      for (const v of valueAt(doc, path)) expect(typeProblem(ECS[path]!, v), path).toBeUndefined();
    }
    expect(doc).toMatchObject({ event: { kind: 'alert', severity: 3, start: a.first_seen, end: a.last_seen }, related: { ip: ['203.0.113.9', '10.0.0.5'] } });
  });
});
