import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/runtime/free-port.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'matterflow-start-'));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function waitForOutput(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no ${pattern} in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before ready:\n${seen}`));
    });
  });
}

describe('npm start', () => {
  it('brings up Temporal, the embedded database, worker and API, prints the URLs, and stops on Ctrl-C', async () => {
    const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      DATA_DIR: dataDir,
      MATTERFLOW_SKIP_NPM_CI: '1',
      LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.ADMIN_TOKEN;
    const started = Date.now();
    child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output = await waitForOutput(child, /Press Ctrl-C to stop/, 150_000);
    const secondsToReady = (Date.now() - started) / 1000;
    writeFileSync(join(ARTIFACTS, 'npm-start-ready.json'), JSON.stringify({ secondsToReady }, null, 2));

    const api = `http://127.0.0.1:${port}`;
    expect(output).toContain(`${api}/v1`);
    expect(output).toContain(`${api}/docs`);
    expect(output).toContain(`http://127.0.0.1:${uiPort}`);

    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'ok', temporal: 'ok' } });
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);
    const docs = await fetch(`${api}/docs/json`);
    expect(((await docs.json()) as any).paths).toHaveProperty('/v1/matters');

    const { adminToken } = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
    const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const handler = await fetch(`${api}/v1/handlers`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ id: 'smoke', name: 'Smoke Test', channels: [] }),
    });
    expect(handler.status).toBe(201);
    const matter = await fetch(`${api}/v1/matters`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        source: 'smoke',
        externalId: randomUUID(),
        title: 'Check the start',
        handlerId: 'smoke',
      }),
    });
    expect(matter.status).toBe(201);
    const { id } = (await matter.json()) as { id: string };
    let events: { type: string }[] = [];
    for (let i = 0; i < 100 && events.length === 0; i++) {
      const detail = (await (await fetch(`${api}/v1/matters/${id}`, { headers: auth })).json()) as any;
      events = detail.events;
      if (events.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.map((e) => e.type)).toEqual(['matter.assigned']);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
  }, 240_000);
});
