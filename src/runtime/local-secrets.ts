import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSecret } from '../security/secret-hash.js';

export interface LocalSecrets {
  adminToken: string;
  linkSecret: string;
  callbackSecretKey: string;
}

/** Generated once per data directory, so links, the admin token and sealed secrets survive a restart. */
export function localSecrets(dataDir: string): LocalSecrets {
  const file = join(dataDir, 'secrets.json');
  const kept: Partial<LocalSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secrets: LocalSecrets = {
    adminToken: kept.adminToken ?? newSecret(),
    linkSecret: kept.linkSecret ?? newSecret(48),
    // Added after the first releases: a data directory from before gets one on its next start.
    callbackSecretKey: kept.callbackSecretKey ?? newSecret(48),
  };
  if (!kept.adminToken || !kept.linkSecret || !kept.callbackSecretKey) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify({ ...kept, ...secrets }, null, 2), { mode: 0o600 });
  }
  return secrets;
}
