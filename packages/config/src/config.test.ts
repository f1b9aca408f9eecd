import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@soc/errors';
import { TokenVerifier, credentialsFromEnv, ensureCredentials, loadConfig } from './index.ts';

describe('loadConfig', () => {
  it('syslog and TLS settings: defaults, environment, and a client-certificate policy without CA refused', () => {
    const d = loadConfig({ env: {} }).collector.syslog;
    expect(d).toMatchObject({ recvBufferSize: 8 * 1024 * 1024, maxConnections: 1024, idleTimeoutSeconds: 600, batchSize: 500 });
    expect(d.tls).toBeUndefined();
    const c = loadConfig({
      env: { SOC_SYSLOG_TLS_CERT_FILE: '/s.crt', SOC_SYSLOG_TLS_KEY_FILE: '/s.key', SOC_SYSLOG_TLS_CLIENT_CA_FILE: '/ca.crt', SOC_SYSLOG_TLS_CLIENT_CERT: 'required', SOC_SYSLOG_IDLE_TIMEOUT_SECONDS: '30', SOC_API_TLS_CERT_FILE: '/a.crt', SOC_API_TLS_KEY_FILE: '/a.key' },
    });
    expect(c.collector.syslog.tls).toEqual({ port: 6514, certFile: '/s.crt', keyFile: '/s.key', clientCaFile: '/ca.crt', clientCert: 'required', maxVersion: 'TLSv1.2' });
    expect(c.collector.syslog.idleTimeoutSeconds).toBe(30);
    expect(c.api.tls).toEqual({ certFile: '/a.crt', keyFile: '/a.key', clientCert: 'none', maxVersion: 'TLSv1.3' });
    expect(() => loadConfig({ env: { SOC_COLLECTOR_TLS_CERT_FILE: '/c.crt', SOC_COLLECTOR_TLS_KEY_FILE: '/c.key', SOC_COLLECTOR_TLS_CLIENT_CERT: 'optional' } })).toThrow(/collector\.tls\.clientCaFile: clientCaFile is needed/);
    expect(() => loadConfig({ env: { SOC_SYSLOG_TLS_PORT: '6514' } })).toThrow(/collector\.syslog\.tls\.certFile/);
  });

  it('gives embedded defaults on loopback', () => {
    const c = loadConfig({ env: {} });
    expect(c.bus.kind).toBe('embedded');
    expect(c.store.kind).toBe('embedded');
    expect(c.api.host).toBe('127.0.0.1');
  });

  it('switches to Kafka and Elasticsearch from their URLs', () => {
    const c = loadConfig({ env: { KAFKA_BROKERS: 'k1:9092, k2:9092', ELASTICSEARCH_URL: 'https://es:9200' } });
    expect(c.bus).toMatchObject({ kind: 'kafka', kafka: { brokers: ['k1:9092', 'k2:9092'] } });
    expect(c.store).toMatchObject({ kind: 'elasticsearch', elasticsearch: { node: ['https://es:9200'] } });
  });

  it('refuses an unknown key in the file, naming it and the valid ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'soc.json');
    const bad = (cfg: unknown) => {
      writeFileSync(file, JSON.stringify(cfg));
      return () => loadConfig({ file, env: {} });
    };
    expect(bad({ collector: { maxBodyByte: 1 } })).toThrow(/invalid configuration: collector\.maxBodyByte \(check .*soc\.json\): unknown setting \(not one of host, port, maxBodyBytes,/);
    expect(bad({ dataDr: 'x' })).toThrow(/invalid configuration: dataDr .*not one of dataDir, soc, bus/);
    expect(bad({ bus: { kind: 'embedded', pth: 'x' } })).toThrow(/bus\.pth .*not one of kind, path, kafka/);
    expect(bad({ collector: { tail: [{ path: '/x', fromat: 'zeek' }] } })).toThrow(/collector\.tail\.0\.fromat .*not one of path, format/);
    expect(bad([1])).toThrow(/must hold one JSON object/);
    expect(bad(null)).toThrow(/must hold one JSON object/);
  });

  it('refuses an unknown SOC_* variable, naming it; other variables are not ours', () => {
    expect(() => loadConfig({ env: { SOC_API_PROT: '1' } })).toThrow(/unknown environment variable SOC_API_PROT/);
    expect(loadConfig({ env: { SOC_SENSOR_TOKENS: 'x'.repeat(30), SOC_LOG_LEVEL: 'warn', SOCKET: 'y', HOME: '/' } }).api.port).toBe(8080);
  });

  it('takes the token list of every role and the test runner knobs as known SOC_* variables', () => {
    const tokens = { SOC_PARTNER_TOKENS: 'p'.repeat(30), SOC_LEAD_TOKENS: 'l'.repeat(30), SOC_ADMIN_TOKENS: 'a'.repeat(30) };
    expect(loadConfig({ env: { ...tokens, SOC_REAL_REQUIRED: '1', SOC_KAFKA_CONTROL: '1', SOC_DEV_STATE: '/tmp/x' } }).api.port).toBe(8080);
  });

  it('switches to OpenSearch from its URL, and refuses two search engines at once', () => {
    const c = loadConfig({ env: { OPENSEARCH_URL: 'https://os1:9200,https://os2:9200', OPENSEARCH_USERNAME: 'soc', OPENSEARCH_INDEX: 'alerts' } });
    expect(c.store).toMatchObject({ kind: 'opensearch', opensearch: { node: ['https://os1:9200', 'https://os2:9200'], username: 'soc', index: 'alerts' } });
    expect(() => loadConfig({ env: { OPENSEARCH_URL: 'https://os:9200', ELASTICSEARCH_URL: 'https://es:9200' } })).toThrow(/both ELASTICSEARCH_URL and OPENSEARCH_URL/);
    expect(loadConfig({ env: { OPENSEARCH_URL: 'https://os:9200', ELASTICSEARCH_URL: 'https://es:9200', SOC_STORE: 'elasticsearch' } }).store.kind).toBe('elasticsearch');
    expect(() => loadConfig({ env: { OPENSEARCH_URL: 'not a url' } })).toThrow(/store\.opensearch\.node\.0 \(from OPENSEARCH_URL\)/);
  });

  it('applies file < env < overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'soc.json');
    writeFileSync(file, JSON.stringify({ api: { port: 9000, maxPageSize: 10 }, soc: { id: 'soc-ee', country: 'EE' } }));
    const c = loadConfig({ file, env: { SOC_API_PORT: '9100' }, overrides: { api: { port: 9200 } } });
    expect(c.api.port).toBe(9200);
    expect(c.api.maxPageSize).toBe(10);
    expect(c.soc).toMatchObject({ id: 'soc-ee', country: 'EE' });
  });

  it('stops on a bad value and names the field and the variable', () => {
    expect(() => loadConfig({ env: { SOC_API_PORT: 'eighty' } })).toThrow(/api\.port \(from SOC_API_PORT\)/);
    expect(() => loadConfig({ env: { SOC_COUNTRY: 'Estonia' } })).toThrow(/soc\.country/);
    expect(() => loadConfig({ env: { SOC_SYSLOG_ENABLED: 'maybe' } })).toThrow(ConfigError);
    expect(loadConfig({ env: {} }).collector.preserveOriginal).toBe(true);
    expect(loadConfig({ env: { SOC_COLLECTOR_PARSE_THREAD_NICE: '9', SOC_DETECTOR_THREAD_NICE: '-3' } })).toMatchObject({ collector: { parseThreadNice: 9 }, detector: { threadNice: -3 } });
    expect(() => loadConfig({ env: { SOC_DETECTOR_THREAD_NICE: '20' } })).toThrow(/detector\.threadNice \(from SOC_DETECTOR_THREAD_NICE\)/);
    expect(loadConfig({ env: { SOC_COLLECTOR_PRESERVE_ORIGINAL: 'false' } }).collector.preserveOriginal).toBe(false);
    expect(() => loadConfig({ env: { SOC_COLLECTOR_PRESERVE_ORIGINAL: 'sometimes' } })).toThrow(/SOC_COLLECTOR_PRESERVE_ORIGINAL/);
    expect(() => loadConfig({ env: { SOC_INTERNAL_CIDRS: '10.0.0.0/8, bogus' } })).toThrow(/detector\.internalCidrs\.1 \(from SOC_INTERNAL_CIDRS\)/);
    expect(loadConfig({ env: { SOC_INTERNAL_CIDRS: '10.0.0.0/8, 2001:db8::/32' } }).detector.internalCidrs).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    try {
      loadConfig({ env: { SOC_BUS: 'rabbit' } });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).field).toBe('bus.kind');
    }
  });
});

describe('credentials', () => {
  it('creates one analyst and one sensor token, mode 0600, and reuses them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cred-'));
    const a = ensureCredentials(dir);
    expect(a.created).toBe(true);
    expect(statSync(a.path).mode & 0o777).toBe(0o600);
    expect(a.credentials.map((c) => c.role).sort()).toEqual(['analyst', 'sensor']);
    const b = ensureCredentials(dir);
    expect(b.created).toBe(false);
    expect(b.credentials).toEqual(a.credentials);
  });

  it('authorises by role: 401 without or with a wrong token, 403 for the wrong role', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cred-'));
    const { credentials } = ensureCredentials(dir);
    const v = new TokenVerifier(credentials);
    const analyst = credentials.find((c) => c.role === 'analyst')!.token;
    const sensor = credentials.find((c) => c.role === 'sensor')!.token;
    expect(v.authorize(`Bearer ${analyst}`, ['analyst']).role).toBe('analyst');
    expect(() => v.authorize(undefined, ['analyst'])).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => v.authorize(`Bearer ${analyst}x`, ['analyst'])).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => v.authorize(`Basic ${analyst}`, ['analyst'])).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => v.authorize(`Bearer ${sensor}`, ['analyst'])).toThrow(expect.objectContaining({ status: 403 }));
  });

  it('reads tokens from the environment and refuses short ones', () => {
    expect(credentialsFromEnv({ SOC_SENSOR_TOKENS: 'a'.repeat(30) + ',' + 'b'.repeat(30) })).toHaveLength(2);
    expect(() => credentialsFromEnv({ SOC_ANALYST_TOKENS: 'short' })).toThrow(/at least 24/);
  });
});
