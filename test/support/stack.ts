import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { seedAdminToken } from '../../src/db/api-tokens.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { installSdkLogger, type RunningWorker, startWorker } from '../../worker.js';
import { WebhookReceiver } from './webhook-receiver.js';

export interface TestStack {
  config: Readonly<Config>;
  sql: Sql;
  temporal: Client;
  app: FastifyInstance;
  baseUrl: string;
  adminToken: string;
  receiver: WebhookReceiver;
  worker: RunningWorker | null;
  /** Environment for a worker run as a separate process against the same stack. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The real thing on test infrastructure: API on a loopback port, a worker on its own task queue,
 * the shared dev server and the run's database, and a webhook receiver for what gets sent.
 */
export async function startStack(
  options: { worker?: boolean; temporalAddress?: string; env?: Record<string, string> } = {},
): Promise<TestStack> {
  const receiver = await new WebhookReceiver(newSecret()).start();
  const adminToken = newSecret();
  const env: Record<string, string> = {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: options.temporalAddress ?? inject('temporalAddress'),
    TASK_QUEUE: `test-${randomUUID()}`,
    LINK_SECRET: newSecret(48),
    WEBHOOK_SECRET: receiver.secret,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    WEBHOOK_TIMEOUT_MS: '3000',
    // Every stack's dispatcher may pick any test's callback, as replicas of one deployment do, so all
    // share one key and one (shrunk) schedule: a 200 ms cap stands in for the real 5 min.
    CALLBACK_SECRET_KEY: 'test-callback-secret-key-shared-by-every-stack',
    CALLBACK_BACKOFF_BASE_MS: '20',
    CALLBACK_BACKOFF_CAP_MS: '200',
    CALLBACK_POLL_MS: '1000',
    CALLBACK_TIMEOUT_MS: '2000',
    // As deployed workers do: the run's one pre-built bundle.
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    ...options.env,
    // Exactly this stack's receiver and the tests' callback receivers (any stack's dispatcher may call
    // those), besides what the test allows itself: other loopback ports stay refused, as in production.
    OUTBOUND_ALLOW_HOSTS: [
      new URL(receiver.url).host,
      ...inject('callbackPorts').map((port) => `127.0.0.1:${port}`),
      ...(options.env?.OUTBOUND_ALLOW_HOSTS ? [options.env.OUTBOUND_ALLOW_HOSTS] : []),
    ].join(','),
  };
  const log = createLogger('warn');
  installSdkLogger(log);
  const sql = createSql(env.DATABASE_URL!, { max: 5 });
  await seedAdminToken(sql, adminToken);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  const temporal = new Client({ connection });
  const app = await buildApp({ config: loadConfig(env), sql, temporal, log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  env.PUBLIC_BASE_URL = baseUrl;
  const config = loadConfig(env);
  const worker =
    options.worker === false
      ? null
      : await startWorker({
          config,
          sql,
          log,
          // One process, one registry, as under `npm start`: the API's /metrics shows the worker's counts.
          metrics: app.metrics,
        });
  return {
    config,
    sql,
    temporal,
    app,
    baseUrl,
    adminToken,
    receiver,
    worker,
    env,
    async close() {
      await app.close();
      await worker?.stop();
      await connection.close();
      await receiver.stop();
      await sql.end({ timeout: 5 });
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(
  stack: Pick<TestStack, 'baseUrl'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; contentType?: string; accept?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.accept) headers.accept = options.accept;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${stack.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if (res.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A handler with a webhook channel on the stack's receiver, and a token to act as them. */
export async function createHandler(
  stack: TestStack,
  options: { id?: string; supervisorId?: string; name?: string } = {},
): Promise<{ id: string; token: string }> {
  const id = options.id ?? `h-${randomUUID().slice(0, 8)}`;
  const created = await call(stack, 'POST', '/v1/handlers', {
    token: stack.adminToken,
    body: {
      id,
      name: options.name ?? `Handler ${id}`,
      channels: [{ type: 'webhook', address: stack.receiver.addressFor(id) }],
      ...(options.supervisorId ? { supervisorId: options.supervisorId } : {}),
    },
  });
  if (created.status !== 201)
    throw new Error(`creating handler ${id}: ${created.status} ${JSON.stringify(created.body)}`);
  const token = await call(stack, 'POST', '/v1/tokens', {
    token: stack.adminToken,
    body: { subject: id, role: 'handler' },
  });
  return { id, token: token.body.token };
}

/**
 * A token for `subject`. A source system is registered as trusted first, so its matters start at
 * once; tests of review for untrusted sources register their source themselves.
 */
export async function issueToken(
  stack: TestStack,
  subject: string,
  role: string,
  options: { trusted?: boolean } = {},
): Promise<string> {
  if (role === 'source') {
    const registered = await call(stack, 'POST', '/v1/source-systems', {
      token: stack.adminToken,
      body: { code: subject, name: `Source ${subject}`, trusted: options.trusted ?? true },
    });
    if (registered.status !== 201) {
      throw new Error(
        `registering source ${subject}: ${registered.status} ${JSON.stringify(registered.body)}`,
      );
    }
  }
  const res = await call(stack, 'POST', '/v1/tokens', { token: stack.adminToken, body: { subject, role } });
  if (res.status !== 201) throw new Error(`issuing token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
