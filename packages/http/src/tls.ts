import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions, Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { ConfigError } from '@soc/errors';
import type { Principal, Role, TlsConfig } from '@soc/config';

/**
 * TLS for every listener that takes it (HTTPS collector and API, syslog over TLS): one place for
 * the protocol floor, the cipher list, client-certificate policy and reloading files on SIGHUP.
 */

/**
 * TLS 1.2 with forward-secret AEAD suites only (Mozilla "intermediate"); TLS 1.3 suites are
 * Node's defaults, all of them modern.
 */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as Error).message}`, field);
  }
}

/** Certificate, key and client CA read from their files now; `field` names the config section in errors. */
export function secureContextOptions(t: TlsConfig, field: string): SecureContextOptions {
  return {
    cert: readPem(t.certFile, `${field}.certFile`),
    key: readPem(t.keyFile, `${field}.keyFile`),
    ...(t.clientCaFile ? { ca: readPem(t.clientCaFile, `${field}.clientCaFile`) } : {}),
    minVersion: 'TLSv1.2',
    maxVersion: t.maxVersion,
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
  };
}

/** Server options: the context plus whether a client certificate is asked for and required. */
export function tlsServerOptions(t: TlsConfig, field: string): TlsOptions {
  return {
    ...secureContextOptions(t, field),
    requestCert: t.clientCert !== 'none',
    rejectUnauthorized: t.clientCert === 'required',
  };
}

/**
 * Re-reads the files and swaps the server's context: new handshakes use it, open connections
 * keep theirs. A file that cannot be read leaves the old context in force (and throws, for the log).
 */
export function reloadTls(server: TlsServer, t: TlsConfig, field: string): void {
  server.setSecureContext(secureContextOptions(t, field));
}

export interface PeerCertificate {
  /** Subject common name, else the whole subject. */
  name: string;
  fingerprint256: string;
}

/** The client certificate of a socket, when it was given and chains to the configured client CA. */
export function verifiedPeer(socket: unknown): PeerCertificate | undefined {
  const s = socket as Partial<TLSSocket>;
  if (!s.encrypted || !s.authorized || typeof s.getPeerCertificate !== 'function') return undefined;
  const cert = s.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const cn = cert.subject.CN;
  const name = (Array.isArray(cn) ? cn[0] : cn) ?? Object.entries(cert.subject).map(([k, v]) => `${k}=${String(v)}`).join(',');
  return { name, fingerprint256: cert.fingerprint256 };
}

/**
 * Mutual TLS for sensors: a request on a connection whose client certificate chains to the
 * configured CA is a sensor, named after the certificate, when the route lets sensors in.
 * Bearer tokens stay the way in for analysts and for sensors without certificates.
 */
export function certificatePrincipal(req: IncomingMessage, allowed: readonly Role[]): Principal | undefined {
  if (!allowed.includes('sensor')) return undefined;
  const peer = verifiedPeer(req.socket);
  return peer ? { name: `cert:${peer.name}`, role: 'sensor' } : undefined;
}

export interface WebTls {
  config: TlsConfig;
  /** Config section, for error messages: `api.tls`. */
  field: string;
}

/** An HTTP server, or HTTPS when `tls` is given. */
export function createWebServer(opts: ServerOptions, handler: RequestListener, tls?: WebTls): HttpServer | HttpsServer {
  return tls ? createHttpsServer({ ...opts, ...tlsServerOptions(tls.config, tls.field) }, handler) : createHttpServer(opts, handler);
}
