import { readFile } from 'node:fs/promises';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@soc/errors';
import { TrustStore, exportPublicKey, importPrivateKey, keyId as keyIdOfPublic, loadSharingPolicy, loadTrustList, type SharingPolicy, type Signer, type SocIdentity } from '@soc/federation';
import { CidrSet } from '@soc/netaddr';

/** What the federation handlers need, loaded once at start-up from the configured files. */
export interface FederationContext {
  self: SocIdentity;
  signer: Signer & { privateKey: KeyObject };
  keyId: string;
  trust: TrustStore;
  policy: SharingPolicy;
  /** The policy's internal ranges, compiled: what is ours, never an attacker indicator. */
  internal: CidrSet;
}

export interface FederationFiles {
  privateKeyFile?: string;
  trustListFile?: string;
  policyFile?: string;
}

function required(value: string | undefined, field: string, env: string): string {
  if (!value) throw new ConfigError(`federation is enabled but federation.${field} is not set (${env})`, `federation.${field}`);
  return value;
}

export async function loadFederationContext(files: FederationFiles, self: SocIdentity, env: NodeJS.ProcessEnv = process.env): Promise<FederationContext> {
  const keyPath = required(files.privateKeyFile, 'privateKeyFile', 'SOC_FEDERATION_PRIVATE_KEY_FILE');
  const trustPath = required(files.trustListFile, 'trustListFile', 'SOC_FEDERATION_TRUST_LIST_FILE');
  const policyPath = required(files.policyFile, 'policyFile', 'SOC_FEDERATION_POLICY_FILE');
  let privateKey: KeyObject;
  try {
    privateKey = importPrivateKey(await readFile(keyPath, 'utf8'));
  } catch (err) {
    throw new ConfigError(`federation private key ${keyPath}: ${(err as Error).message}`, 'federation.privateKeyFile');
  }
  const trust = new TrustStore(await loadTrustList(trustPath));
  const policy = await loadSharingPolicy(policyPath, env);
  // Partners verify us against our trust-list entry; a mismatch here means nobody accepts us.
  const own = trust.get(self.id);
  const keyId = keyIdOfPublic(exportPublicKey(createPublicKey(privateKey)));
  if (own && own.keyId !== keyId) throw new ConfigError(`the trust list's key for ${self.id} (${own.keyId}) is not our key (${keyId})`, 'federation.privateKeyFile');
  return { self, signer: { identity: self, privateKey }, keyId, trust, policy, internal: new CidrSet(policy.internalCidrs) };
}
