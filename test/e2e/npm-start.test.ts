import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, portOpen } from '../../src/runtime/free-port.js';

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

function startMatterflow(env: Record<string, string | undefined>): ChildProcess {
  child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return child;
}

/** Ctrl-C in a terminal signals the whole foreground process group, npm included. */
async function stopWithCtrlC(proc: ChildProcess, ports: number[]): Promise<void> {
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  process.kill(-proc.pid!, 'SIGINT');
  const { code, signal } = await exited;
  expect(code === 0 || signal === 'SIGINT', `npm start ended with code ${code}, signal ${signal}`).toBe(true);
  for (let i = 0; i < 50 && (await Promise.all(ports.map(portOpen))).some(Boolean); i++) {
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await Promise.all(ports.map(portOpen)), 'ports still served after Ctrl-C').toEqual(
    ports.map(() => false),
  );
}

describe('npm start', () => {
  it('brings up Temporal, the embedded database, worker and API, prints the URLs, stops on Ctrl-C, and resumes open matters on restart', async () => {
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
    delete env.LINK_SECRET;
    const started = Date.now();
    const first = startMatterflow(env);
    const output = await waitForOutput(first, /Press Ctrl-C to stop/, 150_000);
    const secondsToReady = (Date.now() - started) / 1000;

    const api = `http://127.0.0.1:${port}`;
    expect(output).toContain(`${api}/v1`);
    expect(output).toContain(`${api}/docs`);
    expect(output).toContain(`${api}/inbox`);
    expect(output).toContain(`http://127.0.0.1:${uiPort}`);

    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'ok', temporal: 'ok' } });
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);
    const signIn = await fetch(`${api}/inbox`, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toMatch(/^\/sign-in\?next=/);
    expect((await fetch(`${api}/sign-in`)).status).toBe(200);
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
        reminderRule: { firstAfter: 'PT1S', every: 'PT2S', maxCount: 1000 },
      }),
    });
    expect(matter.status).toBe(201);
    const { id } = (await matter.json()) as { id: string };
    const reminders = async () => {
      const detail = (await (await fetch(`${api}/v1/matters/${id}`, { headers: auth })).json()) as any;
      return {
        status: detail.status as string,
        reminders: detail.events.filter((e: any) => e.type === 'matter.reminder'),
      };
    };
    for (let i = 0; i < 100 && (await reminders()).reminders.length === 0; i++)
      await new Promise((r) => setTimeout(r, 200));
    expect((await reminders()).reminders.length).toBeGreaterThan(0);

    await stopWithCtrlC(first, [port, temporalPort, uiPort]);
    const stoppedAt = Date.now();

    const restarted = Date.now();
    const second = startMatterflow(env);
    await waitForOutput(second, /Press Ctrl-C to stop/, 150_000);
    const secondsToReadyOnRestart = (Date.now() - restarted) / 1000;
    let after: { status: string; reminders: { occurredAt: string }[] } = { status: '', reminders: [] };
    for (let i = 0; i < 100; i++) {
      after = await reminders();
      if (after.reminders.some((r) => Date.parse(r.occurredAt) > stoppedAt)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after.status).toBe('open');
    expect(after.reminders.some((r) => Date.parse(r.occurredAt) > stoppedAt)).toBe(true);
    await stopWithCtrlC(second, [port, temporalPort, uiPort]);
    writeFileSync(
      join(ARTIFACTS, 'npm-start-ready.json'),
      `${JSON.stringify({ secondsToReady, secondsToReadyOnRestart }, null, 2)}\n`,
    );
  }, 360_000);

  it('with TEMPORAL_ADDRESS and DATABASE_URL set, uses them and starts no Temporal server of its own', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const externalDataDir = mkdtempSync(join(tmpdir(), 'matterflow-external-'));
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(port),
      TEMPORAL_UI_PORT: String(uiPort),
      DATA_DIR: externalDataDir,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('databaseUrl'),
      TASK_QUEUE: `external-${randomUUID()}`,
      MATTERFLOW_SKIP_NPM_CI: '1',
      LOG_LEVEL: 'warn',
    };
    const proc = startMatterflow(env);
    const output = await waitForOutput(proc, /Press Ctrl-C to stop/, 150_000);
    expect(output).toContain(`external cluster at ${inject('temporalAddress')}`);
    expect(existsSync(join(externalDataDir, 'temporal.db'))).toBe(false);
    expect(existsSync(join(externalDataDir, 'pg'))).toBe(false);
    expect(await portOpen(uiPort)).toBe(false);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    await stopWithCtrlC(proc, [port]);
    rmSync(externalDataDir, { recursive: true, force: true });
  }, 200_000);
});
