import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { seedAdminToken } from '../src/db/api-tokens.js';
import { createSql } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres.js';
import { freePort } from '../src/runtime/free-port.js';
import { startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../src/runtime/tools.js';
import { WORKFLOWS_PATH } from '../src/runtime/workflow-bundle.js';
import { newSecret } from '../src/security/secret-hash.js';
import { installSdkLogger, startWorker } from '../worker.js';
import { awaitingUpdateWorkflow, doneUpdate, readyQuery } from './workflows/empty.js';

/**
 * B1: matters created per second through the API, beside bare `workflow.start` of an empty workflow on
 * the same dev server in the same run. B2: completing those matters through the API, beside a bare
 * Update on workflows that only wait for one. Then one bulk push of BULK_COUNT matters by a source,
 * beside as many bare starts at the bulk's own concurrency.
 */
const COUNT = Number(process.env.BENCH_COUNT ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BULK_COUNT = Number(process.env.BENCH_BULK_COUNT ?? 1000);
/** What the bulk route keeps in flight (src/api/source-ingestion.ts). */
const BULK_CONCURRENCY = 24;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

async function timed(count: number, concurrency: number, one: (i: number) => Promise<void>) {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await one(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { perSecond: count / seconds, seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

const log = createLogger('warn');
installSdkLogger(log);
const temporalServer = await startDevServer({ cli: temporalCliPath(), port: await freePort(), uiPort: null });
const embedded = process.env.DATABASE_URL
  ? null
  : await startEmbeddedPostgres('memory://', { maxConnections: 1 });
const databaseUrl = process.env.DATABASE_URL ?? embedded!.url;
await migrate(databaseUrl);
const adminToken = newSecret();
const config = loadConfig({
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporalServer.address,
  LINK_SECRET: newSecret(48),
  TASK_QUEUE: 'bench-matters',
  LOG_LEVEL: 'warn',
});
const sql = createSql(databaseUrl, { max: embedded ? 1 : 10 });
await seedAdminToken(sql, adminToken);
const connection = await Connection.connect({ address: temporalServer.address });
const client = new Client({ connection });

const matterBundle = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: new DefaultLogger('WARN'),
});
const matterWorker = await startWorker({ config, sql, log, workflowBundle: matterBundle });
const emptyConnection = await NativeConnection.connect({ address: temporalServer.address });
const emptyWorker = await Worker.create({
  connection: emptyConnection,
  taskQueue: 'bench-empty',
  workflowsPath: fileURLToPath(new URL('./workflows/empty.ts', import.meta.url)),
});
const emptyRun = emptyWorker.run();

const app = await buildApp({ config, sql, temporal: client, log });
await app.listen({ host: '127.0.0.1', port: 0 });
const api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
await fetch(`${api}/v1/handlers`, {
  method: 'POST',
  headers: auth,
  body: JSON.stringify({ id: 'bench', name: 'Bench', channels: [] }),
});

const warmup = 20;
await timed(warmup, 4, async () => {
  await client.workflow.start('emptyWorkflow', {
    taskQueue: 'bench-empty',
    workflowId: `warm-${randomUUID()}`,
  });
});
const floor = await timed(COUNT, CONCURRENCY, async () => {
  await client.workflow.start('emptyWorkflow', {
    taskQueue: 'bench-empty',
    workflowId: `empty-${randomUUID()}`,
  });
});
const created: string[] = [];
const matterflow = await timed(COUNT, CONCURRENCY, async () => {
  const res = await fetch(`${api}/v1/matters`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      source: 'bench',
      externalId: randomUUID(),
      title: 'Bench matter',
      handlerId: 'bench',
    }),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  created.push(((await res.json()) as { id: string }).id);
});

const waiting = await Promise.all(
  Array.from({ length: COUNT }, () =>
    client.workflow.start(awaitingUpdateWorkflow, {
      taskQueue: 'bench-empty',
      workflowId: `awaiting-${randomUUID()}`,
    }),
  ),
);
// Timed once every run is up and cached by the worker, as the matters' runs are.
await timed(COUNT, CONCURRENCY, async (i) => {
  await waiting[i]!.query(readyQuery);
});
const updateFloor = await timed(COUNT, CONCURRENCY, async (i) => {
  await waiting[i]!.executeUpdate(doneUpdate, { args: ['bench'] });
});
const handlerToken = (await (
  await fetch(`${api}/v1/tokens`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ subject: 'bench', role: 'handler' }),
  })
).json()) as { token: string };
const completed = await timed(COUNT, CONCURRENCY, async (i) => {
  const res = await fetch(`${api}/v1/matters/${created[i]}/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${handlerToken.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ outcome: 'done' }),
  });
  if (res.status !== 200) throw new Error(`complete failed: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
});

await fetch(`${api}/v1/source-systems`, {
  method: 'POST',
  headers: auth,
  body: JSON.stringify({ code: 'bench-bulk', name: 'Bench bulk', trusted: true }),
});
const bulkFloor = await timed(BULK_COUNT, BULK_CONCURRENCY, async () => {
  await client.workflow.start('emptyWorkflow', {
    taskQueue: 'bench-empty',
    workflowId: `bulk-floor-${randomUUID()}`,
  });
});
const bulkStarted = performance.now();
const bulkRes = await fetch(`${api}/v1/sources/bench-bulk/matters/bulk`, {
  method: 'POST',
  headers: auth,
  body: JSON.stringify({
    items: Array.from({ length: BULK_COUNT }, (_, i) => ({
      externalId: `bulk-${randomUUID()}-${i}`,
      version: 1,
      title: 'Bench bulk matter',
      handlerId: 'bench',
    })),
  }),
});
const bulkBody = (await bulkRes.json()) as { counts?: Record<string, number> };
const bulkSeconds = (performance.now() - bulkStarted) / 1000;
if (bulkRes.status !== 200 || bulkBody.counts?.created !== BULK_COUNT) {
  throw new Error(`bulk failed: ${bulkRes.status} ${JSON.stringify(bulkBody).slice(0, 500)}`);
}
const bulk = { seconds: bulkSeconds, perSecond: BULK_COUNT / bulkSeconds };

const pkg = (name: string) =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)), 'utf8'),
  ).version as string;
const result = {
  benchmark: 'B1 matter creation: API vs bare workflow.start',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  versions: {
    node: process.version,
    temporalCli: execFileSync(temporalCliPath(), ['--version']).toString().trim(),
    temporalSdk: pkg('@temporalio/client'),
    fastify: pkg('fastify'),
    postgres: embedded ? 'PGlite (embedded)' : 'server at DATABASE_URL',
  },
  parameters: { count: COUNT, concurrency: CONCURRENCY },
  floor: { name: 'client.workflow.start(emptyWorkflow)', ...floor },
  matterflow: { name: 'POST /v1/matters', ...matterflow },
  ratio: matterflow.perSecond / floor.perSecond,
  complete: {
    floor: { name: 'handle.executeUpdate on a workflow waiting for it', ...updateFloor },
    matterflow: { name: 'POST /v1/matters/:id/complete', ...completed },
    ratioP50: completed.p50Ms / updateFloor.p50Ms,
    ratioP99: completed.p99Ms / updateFloor.p99Ms,
  },
  bulk: {
    count: BULK_COUNT,
    floor: { name: `client.workflow.start(emptyWorkflow), ${BULK_CONCURRENCY} concurrent`, ...bulkFloor },
    matterflow: { name: 'one POST /v1/sources/:source/matters/bulk', ...bulk },
    ratio: bulk.perSecond / bulkFloor.perSecond,
  },
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}b1-create.json`, `${JSON.stringify(result, null, 2)}\n`);
const f = (n: number) => n.toFixed(1);
writeFileSync(
  `${RESULTS}b1-create.md`,
  `# B1 matter creation (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; Node ${result.versions.node}; ${result.versions.temporalCli}; SDK ${result.versions.temporalSdk}; ${result.versions.postgres}. ${COUNT} each, ${CONCURRENCY} concurrent.

| what | per second | p50 ms | p99 ms |
| --- | ---: | ---: | ---: |
| floor: ${result.floor.name} | ${f(floor.perSecond)} | ${f(floor.p50Ms)} | ${f(floor.p99Ms)} |
| matterflow: ${result.matterflow.name} | ${f(matterflow.perSecond)} | ${f(matterflow.p50Ms)} | ${f(matterflow.p99Ms)} |

Ratio (matterflow / floor): **${result.ratio.toFixed(2)}**

## B2 complete: ${COUNT} each, ${CONCURRENCY} concurrent

| what | per second | p50 ms | p99 ms |
| --- | ---: | ---: | ---: |
| floor: ${result.complete.floor.name} | ${f(updateFloor.perSecond)} | ${f(updateFloor.p50Ms)} | ${f(updateFloor.p99Ms)} |
| matterflow: ${result.complete.matterflow.name} | ${f(completed.perSecond)} | ${f(completed.p50Ms)} | ${f(completed.p99Ms)} |

Ratio (matterflow / floor): p50 **${result.complete.ratioP50.toFixed(2)}**, p99 **${result.complete.ratioP99.toFixed(2)}**

## Bulk ingestion: ${BULK_COUNT} matters in one request

| what | seconds | per second |
| --- | ---: | ---: |
| floor: ${result.bulk.floor.name} | ${f(bulkFloor.seconds)} | ${f(bulkFloor.perSecond)} |
| matterflow: ${result.bulk.matterflow.name} | ${f(bulk.seconds)} | ${f(bulk.perSecond)} |

Ratio (matterflow / floor): **${result.bulk.ratio.toFixed(2)}**
`,
);
process.stdout.write(`${readFileSync(`${RESULTS}b1-create.md`, 'utf8')}\n`);

await app.close();
emptyWorker.shutdown();
await emptyRun;
await emptyConnection.close();
await matterWorker.stop();
await connection.close();
await sql.end({ timeout: 5 });
await embedded?.stop();
await temporalServer.stop();
