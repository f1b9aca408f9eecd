import { copyFileSync, mkdtempSync, readFileSync as readPem, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsConfig, TokenVerifier } from '@soc/config';
import { Metrics, createLogger } from '@soc/telemetry';
import { makeTestPki, opensslAvailable, type TestPki } from '@soc/testkit/pki';
import { createHttpHandler, listen, reloadTls, sendJson } from './index.ts';

const hasOpenssl = opensslAvailable();
if (!hasOpenssl && process.env.CI === 'true') throw new Error('openssl is required in CI (Debian package openssl)');
if (!hasOpenssl) console.warn('skipping HTTPS tests: the openssl command is not installed');

const analyst = 'soc_a_' + 'x'.repeat(40);

interface Answer {
  status: number;
  body: string;
  fingerprint?: string;
}

describe.skipIf(!hasOpenssl)('HTTPS with optional client certificates', () => {
  let dir: string;
  let pki: TestPki;
  let server: Awaited<ReturnType<typeof listen>>;
  let port: number;
  let sensorCert: { cert: string; key: string };
  let strangerCert: { cert: string; key: string };
  let tls: TlsConfig;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-https-'));
    pki = makeTestPki(dir);
    const srv = pki.issue('server', { server: true });
    sensorCert = pki.issue('sensor-fw01', { cn: 'fw01.example.org' });
    const other = makeTestPki(join(dir, 'other'), 'other-ca');
    strangerCert = other.issue('stranger');
    // Files the reload test overwrites.
    copyFileSync(srv.cert, join(dir, 'live.crt'));
    copyFileSync(srv.key, join(dir, 'live.key'));
    tls = TlsConfig.parse({ certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key'), clientCaFile: pki.caCert, clientCert: 'optional' });
    const handler = createHttpHandler({
      service: 'test',
      verifier: new TokenVerifier([{ name: 'a', role: 'analyst', token: analyst }]),
      logger: createLogger('test', { level: 'silent' }),
      metrics: new Metrics({ defaults: false }),
      routes: [
        { method: 'POST', path: '/push', roles: ['sensor'], handler: async ({ res, principal }) => sendJson(res, 202, principal) },
        { method: 'GET', path: '/read', roles: ['analyst'], handler: async ({ res, principal }) => sendJson(res, 200, principal) },
      ],
    });
    server = await listen(handler, '127.0.0.1', 0, { config: tls, field: 'api.tls' });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, o: { cert?: { cert: string; key: string }; token?: string; tls?: ConnectionOptions } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          ca: [readPem(pki.caCert)],
          ...(o.cert ? { cert: readPem(o.cert.cert), key: readPem(o.cert.key) } : {}),
          headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
          agent: false,
          ...o.tls,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint: (res.socket as TLSSocket).getPeerCertificate?.().fingerprint256 }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('serves https and names the URL so', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a client certificate from the configured CA is a sensor; without one a bearer token is needed', async () => {
    const r = await call('POST', '/push', { cert: sensorCert });
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ name: 'cert:fw01.example.org', role: 'sensor' });
    expect((await call('POST', '/push')).status).toBe(401);
    // A certificate from another CA is no credential.
    expect((await call('POST', '/push', { cert: strangerCert })).status).toBe(401);
  });

  it('a sensor certificate does not open analyst routes; analyst tokens still work', async () => {
    expect((await call('GET', '/read', { cert: sensorCert })).status).toBe(401);
    const r = await call('GET', '/read', { token: analyst });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ role: 'analyst' });
  });

  it('refuses TLS 1.1 and weak ciphers', async () => {
    const handshake = (o: ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, ca: [readPem(pki.caCert)], ...o }, () => {
          resolve(`ok ${s.getProtocol()}`);
          s.end();
        });
        s.on('error', (e) => resolve(`error ${e.message}`));
      });
    expect(await handshake({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).toMatch(/^error/);
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })).toMatch(/^error/);
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toBe('ok TLSv1.2');
    expect(await handshake({})).toBe('ok TLSv1.3');
  });

  it('reload swaps the certificate for new connections', async () => {
    const before = (await call('GET', '/read', { token: analyst })).fingerprint;
    const next = pki.issue('server2', { server: true, cn: 'server two' });
    copyFileSync(next.cert, join(dir, 'live.crt'));
    copyFileSync(next.key, join(dir, 'live.key'));
    reloadTls(server.server as TlsServer, tls, 'api.tls');
    const after = (await call('GET', '/read', { token: analyst })).fingerprint;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });
});
