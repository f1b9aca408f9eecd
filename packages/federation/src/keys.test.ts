import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@soc/errors';
import { generateKeyPair, importPrivateKey, importPublicKey, KEY_FILES, keyId, writeKeyFiles } from './keys.ts';
import { loadTrustList, TrustStore } from './trust.ts';
import { SOC_LV } from './fixtures/alerts.ts';

describe('keys and trust list', () => {
  it('generates Ed25519 pairs: raw base64 public key, PKCS#8 private key', () => {
    const k = generateKeyPair();
    expect(Buffer.from(k.publicKey, 'base64')).toHaveLength(32);
    expect(k.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(importPrivateKey(k.privateKey).asymmetricKeyType).toBe('ed25519');
    expect(importPublicKey(k.publicKey).asymmetricKeyType).toBe('ed25519');
    expect(keyId(k.publicKey)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(k.publicKey)).not.toBe(keyId(generateKeyPair().publicKey));
  });

  it('writes key files with a 0600 private key and will not overwrite by accident', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fed-keys-'));
    const out = await writeKeyFiles(dir);
    expect((await stat(out.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, KEY_FILES.publicKey), 'utf8')).trim()).toBe(out.publicKey);
    expect(importPrivateKey(await readFile(out.privateKeyPath, 'utf8')).asymmetricKeyType).toBe('ed25519');
    await expect(writeKeyFiles(dir)).rejects.toThrow(/EEXIST/);
    const again = await writeKeyFiles(dir, { overwrite: true });
    expect(again.publicKey).not.toBe(out.publicKey);
    expect((await stat(again.privateKeyPath)).mode & 0o777).toBe(0o600);
  });

  it('loads and validates a trust list file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fed-trust-'));
    const path = join(dir, 'trust.json');
    const pk = generateKeyPair().publicKey;
    await writeFile(path, JSON.stringify({ partners: [{ ...SOC_LV, publicKey: pk }] }));
    const list = await loadTrustList(path);
    expect(list.partners[0]).toMatchObject({ id: 'soc-lv', allowRelayFrom: false });
    expect(new TrustStore(list).get('soc-lv')?.keyId).toBe(keyId(pk));
    for (const bad of [
      { partners: [{ ...SOC_LV, publicKey: 'not-a-key' }] },
      { partners: [{ ...SOC_LV, country: 'Latvia', publicKey: pk }] },
      { partners: [{ ...SOC_LV, publicKey: pk }, { ...SOC_LV, publicKey: pk }] },
    ]) {
      await writeFile(path, JSON.stringify(bad));
      await expect(loadTrustList(path)).rejects.toBeInstanceOf(ConfigError);
    }
    await expect(loadTrustList(join(dir, 'missing.json'))).rejects.toBeInstanceOf(ConfigError);
  });
});
