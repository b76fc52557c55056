import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is src/runtime/tools.ts. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PATHS_FILE = join(ROOT, '.tools', 'paths.json');
const HOW_TO_INSTALL = 'run `node scripts/temporal-tools.mjs`';

type Tool = 'cli' | 'testServer';

/** The path scripts/temporal-tools.mjs recorded for `tool`, if it recorded one. */
function fromPathsFile(tool: Tool): string | undefined {
  if (!existsSync(PATHS_FILE)) return undefined;
  let recorded: unknown;
  try {
    recorded = JSON.parse(readFileSync(PATHS_FILE, 'utf8'));
  } catch (err) {
    throw new Error(`${PATHS_FILE} is unreadable (${(err as Error).message}): ${HOW_TO_INSTALL}`);
  }
  const path = (recorded as Partial<Record<Tool, unknown>> | null)?.[tool];
  if (typeof path !== 'string' || path === '') return undefined;
  if (!existsSync(path)) throw new Error(`${PATHS_FILE} names ${path}, which is gone: ${HOW_TO_INSTALL}`);
  return path;
}

function find(envName: 'TEMPORAL_CLI' | 'TEMPORAL_TEST_SERVER', tool: Tool, label: string): string {
  // Tool discovery happens before config is loaded, so this file reads its two variables itself.
  const path = process.env[envName] || fromPathsFile(tool);
  if (!path) throw new Error(`no ${label} found: ${HOW_TO_INSTALL}, or set ${envName} to its path`);
  return path;
}

/** Absolute path of the pinned Temporal CLI (`temporal`). */
export function temporalCliPath(): string {
  return find('TEMPORAL_CLI', 'cli', 'Temporal CLI');
}

/** Absolute path of the Temporal time-skipping test server (`temporal-test-server`). */
export function testServerPath(): string {
  return find('TEMPORAL_TEST_SERVER', 'testServer', 'Temporal time-skipping test server');
}
