import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { CREDENTIALS_FILE, loadConfig, readCredentials, type SocConfig } from '@soc/config';
import { ConfigError, sleep } from '@soc/errors';
import { IndicatorIndex, IntelIndex, writeKeyFiles, type SharingPolicyInput, type SocIdentity } from '@soc/federation';
import type { Route } from '@soc/http';
import type { AlertStore } from '@soc/store';
import type { Logger, Metrics } from '@soc/telemetry';
import { stixRoutes, taxiiRoutes } from '@soc/svc-api';
import type { Analyzer } from '@soc/svc-detector';
import { loadFederationContext, partnerIndicatorAnalyzer, partnerIntelAnalyzer, startFederation, startIndicatorFeed } from '@soc/svc-federation';
import { replay } from './replay.ts';

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

export interface FederationParts {
  /** For the detector: "seen by partner first". */
  analyzers: Analyzer[];
  /** For the API: STIX export and import. */
  routes: Route[];
  /** In start order; the caller stops them in reverse. */
  stoppables: Stoppable[];
}

const identityOf = (cfg: SocConfig): SocIdentity => ({ id: cfg.soc.id, country: cfg.soc.country, name: cfg.soc.name });

/**
 * The federation pieces of whichever services run in this process. The service itself runs with
 * `federation` in `services` and `federation.enabled`; a detector gets the partner-indicator
 * analyzer fed from the alert topic (so it also works split from the federation service); the API
 * gets the STIX routes whether or not federation is enabled.
 */
export async function startFederationParts(cfg: SocConfig, services: readonly string[], bus: Bus, store: AlertStore | undefined, metrics: Metrics, logger: Logger): Promise<FederationParts> {
  const parts: FederationParts = { analyzers: [], routes: [], stoppables: [] };
  const self = identityOf(cfg);
  const f = cfg.federation;
  if (!f.enabled && services.length === 1 && services[0] === 'federation') throw new ConfigError('federation is not enabled (SOC_FEDERATION_ENABLED=true)', 'federation.enabled');
  const ctx = f.enabled ? await loadFederationContext(f, self) : undefined;
  const index = new IndicatorIndex();
  const intel = new IntelIndex();
  const log = logger.child({ component: 'federation' });

  if (ctx && services.includes('detector')) {
    const feed = startIndicatorFeed({ bus, index, intel, internal: ctx.internal, partitions: cfg.topics.partitions, logger: log });
    parts.stoppables.push({ name: 'indicator-feed', ...feed });
    parts.analyzers.push(partnerIndicatorAnalyzer({ index, self }), partnerIntelAnalyzer({ intel, self }));
  }
  if (ctx && services.includes('federation')) {
    const shared = f.sharedBusPath ? openEmbeddedBus({ path: f.sharedBusPath, logger: log, defaultPartitions: 1 }) : bus;
    if (shared !== bus) parts.stoppables.push({ name: 'federation-bus', stop: () => shared.close() });
    else if (bus.kind === 'embedded') log.warn('no federation.sharedBusPath: the federation topic is on this SOC\'s own bus, so only a mirror can carry it to partners');
    const svc = await startFederation({ local: bus, shared, ctx, dataDir: cfg.dataDir, logger: log, metrics, index });
    parts.stoppables.push({ name: 'federation', ...svc });
  }
  if (store && services.includes('api')) {
    const producer = await bus.producer();
    parts.stoppables.push({ name: 'stix-producer', stop: () => producer.close() });
    const onIndicators = ctx ? (learned: { indicators: Parameters<IndicatorIndex['add']>[0][]; intel: Parameters<IntelIndex['add']>[0][] }) => {
      learned.indicators.forEach((e) => index.add(e));
      learned.intel.forEach((e) => intel.add(e));
    } : undefined;
    parts.routes = stixRoutes({ store, producer, identity: self, policy: ctx?.policy, onIndicators });
    // TAXII serves partners, so only with a sharing policy: the same one the federation topic applies.
    if (ctx) parts.routes.push(...taxiiRoutes({ store, producer, identity: self, policy: ctx.policy, onIndicators }));
  }
  return parts;
}

/** `soc keygen`: a key pair for federation, and the trust-list entry to hand to partners. */
export async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, overwrite: { type: 'boolean', default: false }, config: { type: 'string' } } });
  const cfg = loadConfig({ file: values.config });
  const dir = resolve(values.dir ?? join(cfg.dataDir, 'federation'));
  let k: Awaited<ReturnType<typeof writeKeyFiles>>;
  try {
    k = await writeKeyFiles(dir, { overwrite: values.overwrite });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${dir} already holds a federation key; pass --overwrite to replace it (partners must then update their trust lists)`, 'dir');
    throw err;
  }
  const entry = { ...identityOf(cfg), publicKey: k.publicKey, allowRelayFrom: false };
  process.stdout.write(JSON.stringify({ public_key: k.publicKey, key_id: k.keyId, private_key_file: k.privateKeyPath, public_key_file: k.publicKeyPath, trust_list_entry: entry }) + '\n');
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Several member SOCs on one machine: the demo, and the end-to-end tests, use this layout.

export const DEMO_SOCS: readonly SocIdentity[] = [
  { id: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' },
  { id: 'soc-lv', country: 'LV', name: 'CERT.LV SOC' },
  { id: 'soc-lt', country: 'LT', name: 'NKSC SOC' },
  { id: 'soc-fi', country: 'FI', name: 'NCSC-FI SOC' },
  { id: 'soc-pl', country: 'PL', name: 'CERT Polska SOC' },
];

export const DEMO_INTERNAL_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'];

export interface FederationMember {
  identity: SocIdentity;
  dataDir: string;
  /** Environment for `soc start` as this member. */
  env: Record<string, string>;
}

/**
 * Lays out member SOCs under `dir`: a data dir, key pair, pseudonym key and sharing policy per
 * member, one trust list naming all of them, and one shared federation bus file.
 */
export async function prepareFederation(dir: string, members: readonly SocIdentity[], opts: { relay?: boolean; policy?: Partial<SharingPolicyInput> } = {}): Promise<{ members: FederationMember[]; sharedBusPath: string; trustListFile: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const sharedBusPath = join(dir, 'federation-bus.db');
  const trustListFile = join(dir, 'trust-list.json');
  const out: FederationMember[] = [];
  const partners = [];
  for (const identity of members) {
    const dataDir = join(dir, identity.id);
    const keys = await writeKeyFiles(join(dataDir, 'federation'), { overwrite: true });
    const pseudonymFile = join(dataDir, 'federation', 'pseudonym.key');
    writeFileSync(pseudonymFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const policyFile = join(dataDir, 'federation', 'policy.json');
    const policy = { minSeverity: 'medium', tlpMax: 'AMBER', internalCidrs: DEMO_INTERNAL_CIDRS, pseudonymKey: { file: pseudonymFile }, relay: { enabled: opts.relay ?? false, hopLimit: 2 }, ...opts.policy };
    writeFileSync(policyFile, JSON.stringify(policy, null, 2));
    partners.push({ ...identity, publicKey: keys.publicKey, allowRelayFrom: opts.relay ?? false });
    out.push({
      identity,
      dataDir,
      env: {
        SOC_ID: identity.id,
        SOC_COUNTRY: identity.country,
        SOC_NAME: identity.name,
        SOC_FEDERATION_ENABLED: 'true',
        SOC_FEDERATION_SHARED_BUS: sharedBusPath,
        SOC_FEDERATION_PRIVATE_KEY_FILE: keys.privateKeyPath,
        SOC_FEDERATION_TRUST_LIST_FILE: trustListFile,
        SOC_FEDERATION_POLICY_FILE: policyFile,
      },
    });
  }
  writeFileSync(trustListFile, JSON.stringify({ partners }, null, 2));
  return { members: out, sharedBusPath, trustListFile };
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  sensorToken: string;
  exited: Promise<number | null>;
}

/** `soc start` as a child process; resolves once it printed its ready line. */
async function startChild(m: FederationMember, timeoutMs: number): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--data-dir', m.dataDir, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, SOC_LOG_LEVEL: process.env.SOC_LOG_LEVEL ?? 'warn', SOC_DETECTOR_ANOMALY: 'false', ...m.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ready = await new Promise<{ api: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${m.identity.id} not ready in ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('{"ready":true')) return;
      clearTimeout(timer);
      res(JSON.parse(line) as { api: string });
    });
    void exited.then((code) => rej(new Error(`${m.identity.id} exited with ${code} before ready`)));
  });
  const creds = readCredentials(join(m.dataDir, CREDENTIALS_FILE));
  const token = (role: string) => creds.find((c) => c.role === role)!.token;
  return { proc, url: ready.api, token: token('analyst'), sensorToken: token('sensor'), exited };
}

/** Suricata EVE alerts of one external scanner against an internal host. */
export function attackLines(src: string, dst: string, n: number, at = new Date()): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      timestamp: new Date(at.getTime() + i * 1000).toISOString().replace('Z', '+0000'),
      flow_id: 1_700_000_000 + i,
      event_type: 'alert',
      src_ip: src,
      src_port: 50000 + i,
      dest_ip: dst,
      dest_port: 22,
      proto: 'TCP',
      alert: { action: 'allowed', gid: 1, signature_id: 2001219, rev: 20, signature: 'ET SCAN Potential SSH Scan', category: 'Attempted Information Leak', severity: 1 },
    }),
  );
}

const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

async function alertsFrom(c: Child, origin: string): Promise<{ total: number; alerts: { id: string; federation?: { message_id: string; path: string[] }; destination?: { ip?: string }; labels?: Record<string, string> }[] }> {
  const res = await fetch(`${c.url}/v1/alerts?origin=${origin}&limit=100`, { headers: { authorization: `Bearer ${c.token}` } });
  return (await res.json()) as Awaited<ReturnType<typeof alertsFrom>>;
}

/**
 * `soc demo --socs 3`: member-state SOCs on this machine sharing one federation bus file. An
 * attack replayed into the first must arrive, verified, at every other; exits 1 if it does not.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { socs: { type: 'string', default: '3' }, dir: { type: 'string' }, 'timeout-s': { type: 'string', default: '90' } } });
  const n = Number(values.socs);
  if (!Number.isInteger(n) || n < 2 || n > DEMO_SOCS.length) throw new ConfigError(`--socs must be 2..${DEMO_SOCS.length}`, 'socs');
  const deadline = Date.now() + Number(values['timeout-s']) * 1000;
  const dir = resolve(values.dir ?? mkdtempSync(join(tmpdir(), 'soc-demo-')));
  const layout = await prepareFederation(dir, DEMO_SOCS.slice(0, n));
  say({ step: 'prepared', dir, socs: layout.members.map((m) => m.identity.id), shared_bus: layout.sharedBusPath, trust_list: layout.trustListFile });

  const children: Child[] = [];
  let ok = false;
  try {
    for (const m of layout.members) {
      const c = await startChild(m, Math.max(1000, deadline - Date.now()));
      children.push(c);
      say({ step: 'started', soc: m.identity.id, api: c.url, data_dir: m.dataDir });
    }
    const [first, ...others] = children;
    const origin = layout.members[0]!.identity.id;
    const file = join(dir, 'attack.eve.json');
    writeFileSync(file, attackLines('203.0.113.66', '10.0.0.5', 5).join('\n') + '\n');
    const sent = await replay({ file, url: first!.url, token: first!.sensorToken, format: 'suricata', batch: 100 });
    say({ step: 'replayed', into: origin, file, ...sent });

    const arrived = new Set<number>();
    while (arrived.size < others.length && Date.now() < deadline) {
      for (const [i, c] of others.entries()) {
        if (arrived.has(i)) continue;
        const r = await alertsFrom(c, origin);
        if (r.total < sent.accepted) continue;
        arrived.add(i);
        const a = r.alerts[0]!;
        say({ step: 'received', soc: layout.members[i + 1]!.identity.id, from: origin, alerts: r.total, verified: true, message_id: a.federation?.message_id, path: a.federation?.path, destination: a.labels?.['destination.pseudonym'] ?? a.destination?.ip });
      }
      if (arrived.size < others.length) await sleep(200);
    }
    ok = arrived.size === others.length;
    if (!ok) say({ step: 'timeout', missing: layout.members.slice(1).filter((_, i) => !arrived.has(i)).map((m) => m.identity.id) });
  } finally {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
    const codes = await Promise.all(children.map((c) => c.exited));
    say({ step: 'stopped', exit_codes: codes, ok });
  }
  return ok ? 0 : 1;
}

