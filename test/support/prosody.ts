import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, portOpen } from '../../src/runtime/free-port.js';

const run = promisify(execFile);

export interface ProsodyUser {
  username: string;
  password: string;
}

export interface Prosody {
  domain: string;
  port: number;
  /** For @xmpp/client: plain TCP, since the throwaway server has no certificate. */
  service: string;
  jid(username: string): string;
  stop(): Promise<void>;
}

/**
 * Our stdin is a pipe from the test process. It reaches EOF when that process ends, however it ends,
 * and then prosody is killed too, so even a crashed run leaves no server behind.
 */
const WATCHDOG = [
  'exec 3<&0',
  'prosody --config "$1" -F &',
  'server=$!',
  '(read -r _ <&3; kill "$server" 2>/dev/null) &',
  'watcher=$!',
  'wait "$server"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** A JSON string is also a Lua string literal, quotes and backslashes escaped alike. */
function lua(value: string): string {
  return JSON.stringify(value);
}

function config(dir: string, domain: string, port: number): string {
  return `
pidfile = ${lua(join(dir, 'prosody.pid'))}
data_path = ${lua(join(dir, 'data'))}
certificates = ${lua(join(dir, 'certs'))}
-- Prosody refuses to start as root unless told to, and these tests may run as root.
run_as_root = ${process.getuid?.() === 0}
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping" }
modules_disabled = { "s2s", "s2s_auth_certs", "offline" }
authentication = "internal_plain"
allow_registration = false
-- No certificate, so no TLS: loopback only, and the client authenticates with SCRAM, not PLAIN.
c2s_require_encryption = false
log = { info = ${lua(join(dir, 'prosody.log'))} }
VirtualHost ${lua(domain)}
`;
}

function logOf(dir: string): string {
  try {
    return readFileSync(join(dir, 'prosody.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface ProsodyOptions {
  domain?: string;
  /** A port to listen on again, to bring a server back where its clients expect it. */
  port?: number;
}

/** A throwaway prosody on loopback with its own config, data and users, gone again after `stop`. */
export async function startProsody(users: ProsodyUser[], options: ProsodyOptions = {}): Promise<Prosody> {
  const domain = options.domain ?? 'matterflow.test';
  const dir = mkdtempSync(join(tmpdir(), 'matterflow-prosody-'));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'certs'));
  const port = options.port ?? (await freePort());
  const configFile = join(dir, 'prosody.cfg.lua');
  writeFileSync(configFile, config(dir, domain, port));
  try {
    for (const u of users) {
      await run('prosodyctl', ['--config', configFile, 'register', u.username, domain, u.password]);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`prosodyctl could not register the test users: ${(err as Error).message}`);
  }

  const child = spawn('sh', ['-c', WATCHDOG, 'prosody-watchdog', configFile], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  async function stop(): Promise<void> {
    child.stdin!.end();
    const gone = await Promise.race([
      exited(child).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    if (!gone) {
      try {
        process.kill(Number(readFileSync(join(dir, 'prosody.pid'), 'utf8').trim()), 'SIGKILL');
      } catch {
        // No pid file: prosody never got as far as writing one.
      }
      child.kill('SIGKILL');
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null ? `exited with ${child.exitCode}` : 'did not listen in 30 s';
      const log = `${stderr}\n${logOf(dir)}`.trim();
      await stop();
      throw new Error(`prosody ${why}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    domain,
    port,
    service: `xmpp://127.0.0.1:${port}`,
    jid: (username) => `${username}@${domain}`,
    stop,
  };
}
