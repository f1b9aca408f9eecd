/**
 * Checks of the deployment files that need no Docker engine: docker-compose.yml's structure and
 * hardening, that it names only configuration the services understand, the Dockerfile's
 * contract, and the container health check script run against a real `soc start`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_MAP } from '@soc/config';
import { ROOT, startSoc, type SocProcess } from '../helpers/soc-process.ts';

interface Service {
  image?: string;
  build?: { dockerfile: string };
  command?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  restart?: string;
  ports?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[];
}

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; networks: Record<string, { internal?: boolean }> };
const services = compose.services;
const PIPELINE = ['collector', 'detector', 'indexer', 'api', 'federation'];
const ONE_SHOT = ['es-setup', 'demo-sensor'];
/** Variables the image or the health check read besides the config's ENV_MAP. */
const EXTRA_ENV = new Set(['SOC_ANALYST_TOKENS', 'SOC_SENSOR_TOKENS', 'SOC_SENSOR_TOKEN', 'SOC_LOG_LEVEL', 'SOC_HEALTHCHECK_URL']);
const SECRET_NAME = /PASSWORD|TOKEN|SECRET|API_KEY/;
/** `${NAME:?message}` references, comma-joined: required, and supplied by .env. */
const REQUIRED_REFS = /^(\$\{[A-Z0-9_]+:\?[^}]*\},?)+$/;

describe('docker-compose.yml', () => {
  it('has the backends, every pipeline service and the demo sensor', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'collector', 'demo-sensor', 'detector', 'elasticsearch', 'es-setup', 'federation', 'indexer', 'kafka'].sort());
    for (const name of PIPELINE) expect(services[name]!.command).toEqual([name]);
  });

  it('health-checks every long-running service and orders start-up on health', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) {
        expect(s.restart, name).toBe('no');
        continue;
      }
      expect(s.healthcheck?.test?.length, `${name} healthcheck`).toBeGreaterThan(0);
      expect(s.healthcheck?.disable, name).toBeUndefined();
    }
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
        expect(condition, `${name} -> ${dep}`).toBe(ONE_SHOT.includes(dep) ? 'service_completed_successfully' : 'service_healthy');
      }
    }
    for (const name of ['collector', 'detector', 'indexer', 'api', 'federation']) expect(services[name]!.depends_on?.kafka?.condition).toBe('service_healthy');
    for (const name of ['indexer', 'api']) expect(services[name]!.depends_on?.['es-setup']?.condition).toBe('service_completed_successfully');
  });

  it('pins every image and runs our containers as uid 10001, read-only, without capabilities', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        expect(s.build.dockerfile, name).toBe('deploy/Dockerfile');
        expect(s.user, name).toBe('10001:10001');
        expect(s.read_only, name).toBe(true);
        expect(s.cap_drop, name).toEqual(['ALL']);
        expect(s.security_opt, name).toContain('no-new-privileges:true');
      } else {
        expect(s.image, name).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+$/);
      }
    }
  });

  it('publishes ports on 127.0.0.1 only and keeps the backends on an internal network', () => {
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p] as const));
    expect(published.map(([n]) => n).sort()).toEqual(['api', 'collector']);
    for (const [name, p] of published) expect(p, name).toMatch(/^127\.0\.0\.1:/);
    expect(compose.networks.backend?.internal).toBe(true);
    for (const name of ['kafka', 'elasticsearch', 'es-setup', 'detector', 'indexer']) expect(services[name]!.networks).toEqual(['backend']);
  });

  it('holds no secret literals: every secret is a required ${VAR} from .env, listed in deploy/.env.example', () => {
    const example = new Set(read('deploy/.env.example').split('\n').filter((l) => /^[A-Z0-9_]+=/.test(l)).map((l) => l.slice(0, l.indexOf('='))));
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (!SECRET_NAME.test(key)) continue;
        expect(String(value), `${name}.${key}`).toMatch(REQUIRED_REFS);
        for (const [, ref] of String(value).matchAll(/\$\{([A-Z0-9_]+):\?/g)) expect(example.has(ref!), `${ref} in deploy/.env.example`).toBe(true);
      }
    }
    // Placeholders are too short to pass as tokens, so a forgotten one stops the services.
    for (const line of read('deploy/.env.example').split('\n')) if (/^[A-Z_]*(PASSWORD|TOKENS?)=/.test(line)) expect(line).toMatch(/=REPLACE_ME$/);
  });

  it('switches the pipeline to Kafka and Elasticsearch with variables the configuration knows', () => {
    for (const name of PIPELINE) {
      const env = services[name]!.environment!;
      expect(env.KAFKA_BROKERS, name).toBe('kafka:9092');
      for (const key of Object.keys(env)) expect(key in ENV_MAP || EXTRA_ENV.has(key), `${name}: ${key} is not read by anything`).toBe(true);
    }
    for (const name of ['indexer', 'api', 'federation']) expect(services[name]!.environment!.ELASTICSEARCH_URL).toBe('http://elasticsearch:9200');
    // Services that do not touch the store do not get its password.
    for (const name of ['collector', 'detector']) expect(services[name]!.environment!.ELASTICSEARCH_PASSWORD).toBeUndefined();
    expect(services.collector!.environment!.SOC_COLLECTOR_HOST).toBe('0.0.0.0');
    expect(services.api!.environment!.SOC_API_HOST).toBe('0.0.0.0');
  });

  it('has the demo sensor replay a committed sample into the collector', () => {
    const cmd = services['demo-sensor']!.command!;
    expect(cmd.slice(0, 2)).toEqual(['replay', 'deploy/demo/eve-sample.json']);
    expect(cmd[cmd.indexOf('--url') + 1]).toBe('http://collector:8081');
    expect(read('deploy/demo/eve-sample.json').split('\n').filter(Boolean).length).toBeGreaterThan(10);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds on node 20 bookworm-slim and runs any soc command as a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile --prod/);
    expect(runtime).toMatch(/^USER 10001:10001$/m);
    expect(runtime).toContain('ENTRYPOINT ["node", "--import", "tsx", "services/soc/src/main.ts"]');
    expect(runtime).toContain('CMD ["start"]');
    expect(runtime).toMatch(/^EXPOSE 8080 8081$/m);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*deploy\/healthcheck\.mjs/m);
    expect(runtime).not.toMatch(/apt-get|g\+\+|pnpm/);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['**/node_modules', '.git', '.env', '**/.soc', '**/credentials.json']) expect(ignore).toContain(p);
  });
});

describe('deploy/healthcheck.mjs against a running soc', () => {
  let dir: string;
  let soc: SocProcess;
  const check = (env: Record<string, string>, args: string[] = []) =>
    spawnSync(process.execPath, [join(ROOT, 'deploy/healthcheck.mjs'), ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 15_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-health-'));
    soc = await startSoc({ dataDir: dir });
  });
  afterAll(async () => {
    await soc?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is healthy with the sensor token from the data directory or the environment', () => {
    const url = `${soc.url}/readyz`;
    expect(check({ SOC_HEALTHCHECK_URL: url, SOC_DATA_DIR: dir }).status).toBe(0);
    expect(check({ SOC_HEALTHCHECK_URL: url, SOC_SENSOR_TOKENS: `${soc.sensorToken},soc_s_another-token-of-24-chars` }).status).toBe(0);
  });

  it('is unhealthy with a wrong token, without a token, and when nothing listens', () => {
    const url = `${soc.url}/readyz`;
    const wrong = check({ SOC_HEALTHCHECK_URL: url, SOC_HEALTHCHECK_TOKEN: 'soc_s_not-a-valid-token-xxxxxxxxxx' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/answered 401/);
    expect(check({ SOC_HEALTHCHECK_URL: url, SOC_DATA_DIR: join(dir, 'missing') }).stderr).toMatch(/no token/);
    expect(check({ SOC_HEALTHCHECK_URL: 'http://127.0.0.1:9/readyz', SOC_DATA_DIR: dir }).status).toBe(1);
  });
});

describe('deploy/k8s', () => {
  interface Container {
    args: string[];
    image: string;
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    envFrom?: { configMapRef?: { name: string } }[];
    readinessProbe?: { exec?: { command: string[] } };
    livenessProbe?: { exec?: { command: string[] }; httpGet?: { path: string; port: number } };
    resources?: { limits?: Record<string, string> };
    securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  }
  interface Doc {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    spec?: { replicas?: number; template?: { spec: { securityContext: { runAsNonRoot?: boolean; runAsUser?: number }; containers: Container[] } } };
  }
  const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as { resources: string[] };
  const docs = kustomization.resources.flatMap((f) => read(`deploy/k8s/${f}`).split(/^---$/m).map((d) => parse(d) as Doc).filter(Boolean));
  const deployments = docs.filter((d) => d.kind === 'Deployment');
  const config = docs.find((d) => d.kind === 'ConfigMap')!;

  it('runs every pipeline service, non-root and read-only, probed through the health check', () => {
    expect(deployments.map((d) => d.spec!.template!.spec.containers[0]!.args[0]).sort()).toEqual([...PIPELINE].sort());
    for (const d of deployments) {
      const pod = d.spec!.template!.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      for (const c of pod.containers) {
        expect(c.securityContext, d.metadata.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.readinessProbe?.exec?.command).toEqual(['node', 'deploy/healthcheck.mjs']);
        // Liveness needs no token: a plain httpGet on the port the service serves.
        const port = c.args[0] === 'collector' ? 8081 : 8080;
        expect(c.livenessProbe, d.metadata.name).toMatchObject({ httpGet: { path: '/healthz', port } });
        expect(c.env?.find((e) => e.name === 'SOC_HEALTHCHECK_URL')?.value, d.metadata.name).toBe(`http://127.0.0.1:${port}/readyz`);
        expect(c.resources?.limits?.memory, d.metadata.name).toBeDefined();
      }
    }
  });

  it('configures only variables the services know, and takes every secret from the Secret', () => {
    for (const key of Object.keys(config.data!)) expect(ENV_MAP[key] ?? EXTRA_ENV.has(key), key).toBeTruthy();
    for (const [key, value] of Object.entries(config.data!)) if (SECRET_NAME.test(key)) expect(key, `${key}=${value}`).toMatch(/_FILE$/);
    for (const d of deployments) {
      for (const c of d.spec!.template!.spec.containers) {
        for (const e of c.env ?? []) {
          expect(ENV_MAP[e.name] ?? EXTRA_ENV.has(e.name), e.name).toBeTruthy();
          if (SECRET_NAME.test(e.name) && !e.name.endsWith('_FILE')) expect(e.valueFrom?.secretKeyRef?.name, e.name).toBe('soc-secrets');
        }
      }
    }
    // Scaling consumers past the partition count only adds idle members.
    const partitions = Number(config.data!.SOC_TOPIC_PARTITIONS);
    for (const d of deployments) expect(d.spec!.replicas!).toBeLessThanOrEqual(partitions);
  });

  it('denies traffic by default', () => {
    const deny = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'soc-default-deny') as unknown as { spec: { podSelector: object; policyTypes: string[] } };
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });
});
