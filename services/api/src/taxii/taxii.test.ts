import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '@soc/bus';
import { newToken, type Credential } from '@soc/config';
import { Alert, TOPICS, type Tlp } from '@soc/schema';
import type { AlertStore } from '@soc/store';
import { SharingPolicy, pullCollection, type StixObject } from '@soc/federation';
import { loadStixSchemas } from '../../../../packages/federation/src/stix/conformance.ts';
import { taxiiRoutes } from './routes.ts';
import { stixRoutes } from '../stix.ts';
import { SELF, scanAlert, startTestApi, type TestApi } from '../testing.ts';
import { TAXII_MEDIA } from './media.ts';

const CI = process.env.CI === 'true';
const MISP = JSON.parse(readFileSync(new URL('../../../../packages/federation/src/fixtures/reference/misp/misp_attributes_to_stix21.json', import.meta.url), 'utf8')) as Record<string, { STIX: StixObject[] }>;
const POLICY = SharingPolicy.parse({ minSeverity: 'medium', tlpMax: 'AMBER', internalCidrs: ['10.0.0.0/8'], pseudonymKey: 'k'.repeat(32) });
const TLPS: Tlp[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

const alert = (i: number, over: Partial<Alert> = {}): Alert =>
  scanAlert(i, {
    first_seen: new Date(Date.UTC(2026, 2, 1, 9, i)).toISOString(),
    score: 0.8,
    severity: 'high',
    message: `scan of ws-${i}.corp.ee`,
    source: { ip: `203.0.113.${i + 1}`, port: 40000 + i },
    destination: { ip: `10.20.0.${i + 1}`, port: 22 },
    host: { name: `ws-${i}.corp.ee` },
    tlp: TLPS[i % 5],
    ...over,
  }, 'taxii-');

describe('TAXII 2.1 server', () => {
  let api: TestApi;
  let store: AlertStore;
  let bus: EmbeddedBus;
  let url: string;
  const creds: Credential[] = [
    { name: 'analyst', role: 'analyst', token: newToken('analyst') },
    { name: 'soc-lv', role: 'partner', token: newToken('partner') },
    { name: 'sensor', role: 'sensor', token: newToken('sensor') },
  ];
  const token = (role: string) => creds.find((c) => c.role === role)!.token;
  const validate = loadStixSchemas();
  const alerts = [...Array.from({ length: 25 }, (_, i) => alert(i)), alert(40, { severity: 'low', tlp: 'GREEN', source: { ip: '192.0.2.40' } })];

  beforeAll(async () => {
    // The STIX routes beside, as in `soc start`: `soc taxii pull --into` imports through them.
    api = await startTestApi('taxii', creds, (o) => [...taxiiRoutes({ ...o, identity: SELF, policy: POLICY, maxPage: 50 }), ...stixRoutes({ ...o, identity: SELF })]);
    ({ store, bus, url } = api);
    await store.upsert(alerts);
  });
  afterAll(() => api.close());

  const get = async (path: string, role = 'partner', accept = TAXII_MEDIA) => {
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${token(role)}`, accept } });
    return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const collections = async () => (await get('/taxii2/api/collections/')).body.collections as { id: string; title: string; can_read: boolean; can_write: boolean }[];
  const byTitle = async (part: string) => (await collections()).find((c) => c.title.includes(part))!;

  it('discovery, API root and collections with TAXII media types; RED and TLP above the policy never offered', async () => {
    const d = await get('/taxii2/');
    expect(d).toMatchObject({ status: 200, type: TAXII_MEDIA, body: { api_roots: [`${url}/taxii2/api/`], default: `${url}/taxii2/api/` } });
    expect((await get('/taxii2/api/')).body).toMatchObject({ versions: [TAXII_MEDIA], max_content_length: 16 * 1024 * 1024 });
    const cs = await collections();
    expect(cs.map((c) => c.title.split(': ')[1])).toEqual(['shared alerts, TLP:CLEAR', 'shared alerts, TLP:GREEN', 'shared alerts, TLP:AMBER', 'indicators', 'partner inbox']);
    expect(cs.map((c) => [c.can_read, c.can_write])).toEqual([[true, false], [true, false], [true, false], [true, false], [false, true]]);
    expect((await get('/taxii2/api/collections/', 'analyst')).body.collections).toContainEqual(expect.objectContaining({ title: expect.stringContaining('inbox'), can_write: false }));
  });

  it('authenticates and negotiates: no token 401, sensor 403, wrong Accept 406, unknown collection 404 as a TAXII error', async () => {
    expect((await fetch(`${url}/taxii2/`)).status).toBe(401);
    expect((await get('/taxii2/', 'sensor')).status).toBe(403);
    expect((await get('/taxii2/', 'partner', 'application/xml')).status).toBe(406);
    const missing = await get('/taxii2/api/collections/00000000-0000-4000-8000-000000000000/objects/');
    expect(missing).toMatchObject({ status: 404, type: TAXII_MEDIA, body: { title: 'collection not found', http_status: '404' } });
  });

  it('objects: the sharing policy applied (no RED, AMBER+STRICT or below-minimum alert; AMBER pseudonymised), every object schema-valid', async () => {
    const all: StixObject[] = [];
    for (const c of await collections()) if (c.can_read) all.push(...(((await get(`/taxii2/api/collections/${c.id}/objects/?limit=1000`)).body.objects as StixObject[]) ?? []));
    expect(all.length).toBeGreaterThan(50);
    expect(all.map(validate).filter(Boolean)).toEqual([]);
    const text = JSON.stringify(all);
    for (const i of [3, 4, 8, 9]) expect(text, `alert ${i} (${TLPS[i % 5]})`).not.toContain(`'203.0.113.${i + 1}'`);
    expect(text).not.toContain('192.0.2.40');
    const amber = (await get(`/taxii2/api/collections/${(await byTitle('TLP:AMBER')).id}/objects/`)).body.objects as StixObject[];
    expect(JSON.stringify(amber)).not.toMatch(/ws-\d+\.corp\.ee|10\.20\.0\./);
    expect(amber.filter((o) => o.type === 'indicator').length).toBe(5);
  });

  it('pages with limit and next, filters with added_after and match[...], manifest and versions agree', async () => {
    const c = await byTitle('TLP:GREEN');
    const base = `/taxii2/api/collections/${c.id}`;
    const full = (await get(`${base}/objects/`)).body.objects as StixObject[];
    const seen: StixObject[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const r = await get(`${base}/objects/?limit=4${next ? `&next=${next}` : ''}`);
      seen.push(...(r.body.objects as StixObject[]));
      next = r.body.next as string | undefined;
      expect(r.body.more).toBe(next !== undefined);
      pages++;
    } while (next);
    expect(pages).toBe(Math.ceil(full.length / 4));
    expect(seen).toEqual(full);
    const manifest = (await get(`${base}/manifest/`)).body.objects as { id: string; date_added: string; version: string; media_type: string }[];
    expect(manifest.map((m) => m.id)).toEqual(full.map((o) => o.id));
    const cut = manifest[Math.floor(manifest.length / 2)]!.date_added;
    const later = await get(`${base}/objects/?added_after=${cut}`);
    expect((later.body.objects as StixObject[]).length).toBe(manifest.filter((m) => m.date_added > cut).length);
    expect(Date.parse(later.headers.get('x-taxii-date-added-first')!)).toBeGreaterThan(Date.parse(cut));
    const inds = (await get(`${base}/objects/?match[type]=indicator,sighting`)).body.objects as StixObject[];
    expect(new Set(inds.map((o) => o.type))).toEqual(new Set(['indicator', 'sighting']));
    const one = inds.find((o) => o.type === 'indicator')!;
    expect((await get(`${base}/objects/?match[id]=${one.id}&match[version]=all`)).body.objects).toEqual([one]);
    expect((await get(`${base}/objects/${one.id}/`)).body.objects).toEqual([one]);
    expect((await get(`${base}/objects/${one.id}/versions/`)).body).toEqual({ more: false, versions: [one.modified] });
    expect((await get(`${base}/objects/?match[version]=2000-01-01T00:00:00.000Z`)).body.objects).toBeUndefined();
    expect((await get(`${base}/objects/indicator--00000000-0000-4000-8000-000000000000/`)).status).toBe(404);
    expect((await get(`${base}/objects/?next=bm9wZQ`)).status).toBe(400);
  });

  it('partners POST envelopes to the inbox: imported per object, a status resource, alerts on the topic; analysts may not', async () => {
    const inbox = await byTitle('inbox');
    const objects = [...MISP['ip-dst']!.STIX, ...MISP.domain!.STIX.filter((o) => o.type === 'indicator').map((o) => ({ ...o, id: 'indicator--6f2d9a43-2b11-4d3c-9e57-1a2b3c4d5e6f' })), { type: 'indicator', spec_version: '2.1', id: 'indicator--bad' }];
    const post = (role: string, type = TAXII_MEDIA) => fetch(`${url}/taxii2/api/collections/${inbox.id}/objects/`, { method: 'POST', body: JSON.stringify({ objects }), headers: { authorization: `Bearer ${token(role)}`, accept: TAXII_MEDIA, 'content-type': type } });
    expect((await post('analyst')).status).toBe(403);
    expect((await post('partner', 'application/json')).status).toBe(415);
    const res = await post('partner');
    expect(res.status).toBe(202);
    const status = (await res.json()) as { id: string; status: string; total_count: number; success_count: number; failure_count: number; failures: { id: string; message: string }[] };
    expect(status).toMatchObject({ status: 'complete', total_count: objects.length, success_count: objects.length - 1, failure_count: 1 });
    expect(status.failures[0]).toMatchObject({ id: 'indicator--bad' });
    expect((await get(`/taxii2/api/status/${status.id}/`)).body).toEqual(status);
    const records = (await Promise.all([0, 1, 2, 3].map((p) => bus.read(TOPICS.alerts, { partition: p, limit: 100 })))).flat();
    const imported = records.map((r) => Alert.parse(JSON.parse(r.value)));
    expect(imported.map((a) => [a.origin.soc, a.detector])).toEqual([['soc-lv', 'stix-import'], ['soc-lv', 'stix-import']]);
    expect((await get(`/taxii2/api/collections/${inbox.id}/objects/`)).status).toBe(403);
  });

  it('soc taxii pull (our client) reads a collection page by page', async () => {
    const c = await byTitle('TLP:CLEAR');
    const seen: number[] = [];
    const bundle = await pullCollection({ url: `${url}/taxii2/api/collections/${c.id}/`, token: token('partner'), limit: 3, onPage: (n) => seen.push(n) });
    const direct = (await get(`/taxii2/api/collections/${c.id}/objects/`)).body.objects as StixObject[];
    expect(bundle.objects).toEqual(direct);
    expect(seen.length).toBe(Math.ceil(direct.length / 3));
  });

  it('soc taxii pull (the CLI) prints the collection as one bundle, progress on stderr; errors are one line', async () => {
    const c = await byTitle('TLP:GREEN');
    const main = new URL('../../../soc/src/main.ts', import.meta.url).pathname;
    const run = (args: string[], env: Record<string, string>) => promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'taxii', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    const r = await run(['pull', `${url}/taxii2/api/collections/${c.id}/`, '--limit', '10'], { SOC_TAXII_TOKEN: token('partner') });
    const direct = (await get(`/taxii2/api/collections/${c.id}/objects/`)).body.objects as StixObject[];
    expect((JSON.parse(r.stdout) as { objects: StixObject[] }).objects).toEqual(direct);
    expect(r.stderr.trim().split('\n')).toHaveLength(Math.ceil(direct.length / 10));
    const into = await run(['pull', `${url}/taxii2/api/collections/${c.id}/`, '--into', url, '--source', 'soc-ee-taxii'], { SOC_TAXII_TOKEN: token('partner'), SOC_ANALYST_TOKEN: token('analyst') });
    const answer = JSON.parse(into.stdout) as { pulled: number; counts: { imported: number; skipped: number; rejected: number }; alerts: string[] };
    expect(answer.pulled).toBe(direct.length);
    expect(answer.counts.imported + answer.counts.skipped).toBe(direct.length);
    expect(answer.alerts).toHaveLength(direct.filter((o) => o.type === 'indicator').length);
    const bad = await run(['pull', `${url}/taxii2/api/collections/${c.id}/`], { SOC_TAXII_TOKEN: 'x'.repeat(30) }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr.trim().split('\n').at(-1)).toMatch(/^soc: TAXII server answered 401/);
  }, 180_000); // three CLI processes, each starting tsx

  it('an independent client, taxii2-client (Python, OASIS), reads every collection and adds to the inbox', async () => {
    const probe = spawnSync('python3', ['-c', 'import taxii2client'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (CI) throw new Error('taxii2-client (PyPI) is missing: .ci/pip-packages must install it');
      console.warn('skipped: taxii2-client not installed (pip install taxii2-client)');
      return;
    }
    const script = `
import json, sys, requests
from taxii2client.v21 import Server, as_pages
class Bearer(requests.auth.AuthBase):
    def __call__(self, r):
        r.headers['Authorization'] = 'Bearer ' + sys.argv[2]
        return r
server = Server(sys.argv[1] + '/taxii2/', auth=Bearer())
root = server.default
out = {'title': server.title, 'versions': root.versions, 'collections': {}}
for c in root.collections:
    if not c.can_read:
        continue
    ids = []
    for env in as_pages(c.get_objects, per_request=7):
        ids += [o['id'] for o in env.get('objects', [])]
    manifest = [m['id'] for env in as_pages(c.get_manifest, per_request=7) for m in env.get('objects', [])]
    out['collections'][c.title] = {'ids': ids, 'manifest': manifest}
inbox = [c for c in root.collections if c.can_write][0]
status = inbox.add_objects(json.dumps({'objects': json.loads(sys.argv[3])}))
out['status'] = {'status': status.status, 'total': status.total_count, 'success': status.success_count, 'failure': status.failure_count}
print(json.dumps(out))
`;
    const objects = MISP['ip-src']!.STIX;
    // Asynchronously: the server under test runs in this process's event loop.
    const r = await promisify(execFile)('python3', ['-c', script, url, token('partner'), JSON.stringify(objects)], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { versions: string[]; collections: Record<string, { ids: string[]; manifest: string[] }>; status: Record<string, unknown> };
    expect(out.versions).toEqual([TAXII_MEDIA]);
    for (const c of await collections()) {
      if (!c.can_read) continue;
      const ours = ((await get(`/taxii2/api/collections/${c.id}/objects/`)).body.objects as StixObject[]).map((o) => o.id);
      expect(out.collections[c.title]).toEqual({ ids: ours, manifest: ours });
    }
    expect(out.status).toEqual({ status: 'complete', total: objects.length, success: objects.length, failure: 0 });
  });
});
