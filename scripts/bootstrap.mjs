#!/usr/bin/env node
// npm prestart / pretest / prebench: makes a fresh clone runnable. Node built-ins only (it runs before
// the npm packages exist).
//   1. `npm ci` when node_modules is missing or older than package-lock.json
//      (skipped when MATTERFLOW_SKIP_NPM_CI=1, e.g. in CI, which has just run it);
//   2. the pinned Temporal CLI and test server (scripts/temporal-tools.mjs).

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTemporalTools } from './temporal-tools.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function fail(message) {
  process.stderr.write(`[bootstrap] ${message}\n`);
  process.exit(1);
}

function npmPackagesStale() {
  const lock = join(ROOT, 'package-lock.json');
  const installed = join(ROOT, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return 'node_modules is not installed';
  if (existsSync(lock) && statSync(installed).mtimeMs < statSync(lock).mtimeMs)
    return 'package-lock.json is newer than node_modules';
  return undefined;
}

function npmCi(reason) {
  process.stderr.write(`[bootstrap] ${reason}: running npm ci\n`);
  // npm sets npm_execpath for lifecycle scripts; run that same npm with this node when we can.
  const npmCli = process.env.npm_execpath;
  const [cmd, args] =
    npmCli && /npm-cli\.js$/.test(npmCli)
      ? [process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund']]
      : [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund']];
  const out = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: 'inherit',
    shell: process.platform === 'win32' && cmd === 'npm.cmd',
  });
  if (out.error) fail(`cannot run npm ci: ${out.error.message}`);
  if (out.status !== 0) fail(`npm ci failed (exit ${out.status ?? out.signal}); see its output above`);
}

if (process.env.MATTERFLOW_SKIP_NPM_CI !== '1') {
  const reason = npmPackagesStale();
  if (reason) npmCi(reason);
}

try {
  await ensureTemporalTools();
} catch (err) {
  fail(
    `could not install the Temporal tools: ${err?.message ?? err}\n` +
      '(run `node scripts/temporal-tools.mjs` to retry, or set TEMPORAL_CLI and TEMPORAL_TEST_SERVER)',
  );
}
