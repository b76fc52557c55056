import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Tool discovery runs before configuration is loaded, so it reads its two variables itself.
function fromPaths(key: 'cli' | 'testServer'): string | undefined {
  const file = `${ROOT}.tools/paths.json`;
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)[key];
}

function find(envName: string, key: 'cli' | 'testServer'): string {
  const path = process.env[envName] ?? fromPaths(key);
  if (!path)
    throw new Error(`no Temporal ${key} found: run \`node scripts/temporal-tools.mjs\` or set ${envName}`);
  return path;
}

export const temporalCliPath = (): string => find('TEMPORAL_CLI', 'cli');
export const testServerPath = (): string => find('TEMPORAL_TEST_SERVER', 'testServer');
