/**
 * A standalone worker told to stop (SIGTERM, as an orchestrator does) lets the delivery it is in the
 * middle of finish and record, then exits 0; meanwhile it serves its metrics and health on its own port,
 * and the SDK's own metrics on another.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/runtime/free-port.js';
import { call, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GRACE_MS = 10_000;
const ANSWER_AFTER_MS = 2_000;
let stack: TestStack;
let child: ChildProcess | undefined;
let workerLog = '';

/** A webhook receiver that takes its time: each request is answered 200 only after ANSWER_AFTER_MS. */
const slow = {
  server: undefined as Server | undefined,
  url: '',
  /** Bodies as they arrived, and how many have been answered. */
  received: [] as { body: { type: string; matter: { id: string } } }[],
  answered: 0,
};

beforeAll(async () => {
  slow.server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      slow.received.push({ body: JSON.parse(raw) });
      setTimeout(() => {
        res.writeHead(200).end();
        slow.answered += 1;
      }, ANSWER_AFTER_MS);
    });
  });
  await new Promise<void>((resolve) => slow.server!.listen(0, '127.0.0.1', resolve));
  slow.url = `http://127.0.0.1:${(slow.server.address() as { port: number }).port}/hook`;
  stack = await startStack({ worker: false, env: { OUTBOUND_ALLOW_HOSTS: new URL(slow.url).host } });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await new Promise((resolve) => slow.server?.close(resolve));
  await stack?.close();
});

async function waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
  await eventually(async () => pattern.test(workerLog), `worker log ${pattern}`, timeoutMs);
}

describe('when a standalone worker gets SIGTERM during a slow delivery', () => {
  it('then the delivery completes and is recorded delivered, and the worker exits 0 within the grace period', async () => {
    const metricsPort = await freePort();
    const sdkMetricsPort = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...stack.env,
        LOG_LEVEL: 'info',
        WORKER_METRICS_PORT: String(metricsPort),
        TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${sdkMetricsPort}`,
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      workerLog = (workerLog + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child!.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
    await waitForLog(/worker metrics served/, 90_000);

    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status, 'a running worker is healthy').toBe(200);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics, 'the worker serves its own counters').toMatch(/^matterflow_matters_created_total /m);

    const handlerId = `slow-${randomUUID().slice(0, 8)}`;
    const created = await call(stack, 'POST', '/v1/handlers', {
      token: stack.adminToken,
      body: { id: handlerId, name: 'Slow Receiver', channels: [{ type: 'webhook', address: slow.url }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const source = await issueToken(stack, 'drain', 'source');
    const matter = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: 'drain', externalId: randomUUID(), title: 'Countersign the wire', handlerId },
    });
    expect(matter.status, JSON.stringify(matter.body)).toBe(201);
    const matterId: string = matter.body.id;

    await eventually(
      async () => slow.received.some((r) => r.body.matter.id === matterId),
      'the delivery to reach the slow receiver',
    );
    expect(slow.answered, 'the receiver has not answered yet: the send is in flight').toBe(0);
    const sdkMetrics = await (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text();
    expect(sdkMetrics, 'the SDK counts the workflow tasks it ran').toMatch(
      /^temporal_workflow_task_execution_latency_bucket\{.*task_queue="[^"]+"/m,
    );
    expect(sdkMetrics, 'and reports its workflow cache').toMatch(/^temporal_sticky_cache_size\{.*\} 1$/m);
    const signalledAt = Date.now();
    child.kill('SIGTERM');

    const { code, at } = await exited;
    expect(code, `worker exit code; its log:\n${workerLog}`).toBe(0);
    expect(at - signalledAt, 'the worker exits within its grace period').toBeLessThan(GRACE_MS);
    expect(slow.answered, 'the in-flight send got its answer before the worker left').toBe(1);
    const rows = await stack.sql<{ status: string }[]>`
      select status from notifications where matter_id = ${matterId} and type = 'matter.assigned'`;
    expect(
      rows.map((r) => r.status),
      'the notice is recorded delivered, not left pending',
    ).toEqual(['delivered']);
    expect(workerLog).toMatch(/"msg":"notice delivered"/);
    expect(workerLog).toMatch(/"msg":"worker stopped"/);
  });
});
