import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Throwaway test certificates made with the `openssl` command at test time, so no private key
 * is ever committed: a CA, a server certificate for 127.0.0.1/localhost and client
 * certificates, all signed by that CA (EC P-256, one day).
 */

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  /** Issues `<name>.crt`/`<name>.key` signed by the CA; `server` adds the loopback SANs. */
  issue(name: string, opts?: { cn?: string; server?: boolean; ca?: { cert: string; key: string } }): { cert: string; key: string };
}

/** Whether the openssl command runs here. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A fresh CA in `dir`; `name` makes several independent CAs possible in one test. */
export function makeTestPki(dir: string, name = 'ca'): TestPki {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, `${name}.key`);
  const caCert = join(dir, `${name}.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey], dir);
  openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '1', '-subj', `/CN=SOC test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caCert], dir);
  return {
    dir,
    caCert,
    caKey,
    issue(certName, opts = {}) {
      const key = join(dir, `${certName}.key`);
      const csr = join(dir, `${certName}.csr`);
      const cert = join(dir, `${certName}.crt`);
      const ext = join(dir, `${certName}.ext`);
      writeFileSync(
        ext,
        opts.server
          ? 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
          : 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
      );
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
      openssl(['req', '-new', '-key', key, '-subj', `/CN=${opts.cn ?? certName}`, '-out', csr], dir);
      const signer = opts.ca ?? { cert: caCert, key: caKey };
      openssl(['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-CAcreateserial', '-days', '1', '-sha256', '-extfile', ext, '-out', cert], dir);
      return { cert, key };
    },
  };
}
