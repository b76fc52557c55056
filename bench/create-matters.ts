import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { seedAdminToken } from '../src/db/api-tokens.js';
import { createSql } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { freePort } from '../src/runtime/free-port.js';
import { startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../src/runtime/tools.js';
import { writeWorkflowBundle } from '../src/runtime/workflow-bundle.js';
import { newSecret } from '../src/security/secret-hash.js';
import { type CpuSplit, cpuMeter } from './support/cpu.js';
import { sharedDatabase } from './support/shared-database.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';
import { awaitingUpdateWorkflow, doneUpdate, readyQuery } from './workflows/empty.js';

/**
 * B1: matters created per second through the API, beside bare `workflow.start` of an empty workflow on
 * the same dev server in the same run. B2: completing those matters through the API, beside a bare
 * Update on workflows that only wait for one. Then one bulk push of BULK_COUNT matters by a source,
 * beside as many bare starts at the bulk's own concurrency.
 *
 * Topology, as deployed (docker-compose.yml: api and worker are separate services): matterflow's worker
 * runs `worker.ts` with a prebuilt bundle in a process of its own, and so does the floor's worker
 * (bench/workflows/floor-worker.ts), so each side's worker has a core apart from the API. This process
 * holds the load generator, the API and the floor's Temporal client; the dev server is a process too.
 *
 * Env: DATABASE_URL (required: a Postgres server that this process and the worker process both reach),
 * BENCH_COUNT (300), BENCH_CONCURRENCY (16), BENCH_BULK_COUNT (1000), BENCH_RESULTS_DIR (where
 * b1-create.json and .md go; bench/results/).
 */
const COUNT = Number(process.env.BENCH_COUNT ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BULK_COUNT = Number(process.env.BENCH_BULK_COUNT ?? 1000);
/** What the bulk route keeps in flight (src/api/source-ingestion.ts). */
const BULK_CONCURRENCY = 24;
const RESULTS = join(
  process.env.BENCH_RESULTS_DIR ?? fileURLToPath(new URL('./results/', import.meta.url)),
  '/',
);
const MATTER_QUEUE = 'bench-matters';
const FLOOR_QUEUE = 'bench-empty';
const TOPOLOGY = {
  bench: "this process: load generator, API (Fastify and its Temporal client), the floor's Temporal client",
  matterflowWorker:
    'own process: node --import tsx worker.ts, prebuilt workflow bundle (WORKFLOW_BUNDLE_PATH)',
  floorWorker: 'own process: node --import tsx bench/workflows/floor-worker.ts (empty.ts)',
  temporal: 'own process: temporal server start-dev, in memory',
  postgres: 'server at DATABASE_URL',
};

const CPU_HEADER = 'worker CPU s | bench CPU s | engine CPU s | rest CPU s | machine ms per op | cores busy';
const CPU_RULE = '---: | ---: | ---: | ---: | ---: | ---:';

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

const databaseUrl = await sharedDatabase('B1/B2');
const log = createLogger('warn');
const temporalServer = await startDevServer({ cli: temporalCliPath(), port: await freePort(), uiPort: null });
const bundleDir = mkdtempSync(join(tmpdir(), 'matterflow-b1-'));
const workers: WorkerProcess[] = [];
const stopAll = async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await temporalServer.stop();
  rmSync(bundleDir, { recursive: true, force: true });
};
// Killed part-way, the bench takes its workers and dev server down with it rather than leave them running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(1));
  });
}

const adminToken = newSecret();
const env = {
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporalServer.address,
  // The API seals and signs what the worker opens and checks.
  LINK_SECRET: newSecret(48),
  TASK_QUEUE: MATTER_QUEUE,
  LOG_LEVEL: 'warn',
};
// The worker process inherits this environment too, so both read the same settings (e.g. DB_POOL_MAX).
const config = loadConfig({ ...process.env, ...env });
const sql = createSql(databaseUrl, { max: config.dbPoolMax });
const [{ server_version: postgres }] = await sql<[{ server_version: string }]>`show server_version`;
await seedAdminToken(sql, adminToken);
const connection = await Connection.connect({ address: temporalServer.address });
const client = new Client({ connection });
// Built here, as `npm run build:workflows` builds it for the image, so the worker starts without webpack.
const bundlePath = await writeWorkflowBundle(join(bundleDir, 'workflows.js'));
const app = await buildApp({ config, sql, temporal: client, log });

let failure: unknown;
try {
  workers.push(await startWorkerProcess({ ...env, WORKFLOW_BUNDLE_PATH: bundlePath }));
  workers.push(
    await startWorkerProcess(
      { TEMPORAL_ADDRESS: temporalServer.address, TASK_QUEUE: FLOOR_QUEUE, FLOOR_WORKFLOWS: 'empty' },
      'bench/workflows/floor-worker.ts',
    ),
  );
  const [matterWorker, floorWorker] = workers as [WorkerProcess, WorkerProcess];
  const meter = cpuMeter({
    bench: process.pid,
    engine: temporalServer.process.pid!,
    matterflowWorker: matterWorker.pid,
    floorWorker: floorWorker.pid,
  });

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
      taskQueue: FLOOR_QUEUE,
      workflowId: `warm-${randomUUID()}`,
    });
  });
  let measuring = meter.start();
  const floor = await timed(COUNT, CONCURRENCY, async () => {
    await client.workflow.start('emptyWorkflow', {
      taskQueue: FLOOR_QUEUE,
      workflowId: `empty-${randomUUID()}`,
    });
  });
  const floorCpu = measuring();
  const created: string[] = [];
  measuring = meter.start();
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
  const matterflowCpu = measuring();

  const waiting = await Promise.all(
    Array.from({ length: COUNT }, () =>
      client.workflow.start(awaitingUpdateWorkflow, {
        taskQueue: FLOOR_QUEUE,
        workflowId: `awaiting-${randomUUID()}`,
      }),
    ),
  );
  // Timed once every run is up and cached by the worker, as the matters' runs are.
  await timed(COUNT, CONCURRENCY, async (i) => {
    await waiting[i]!.query(readyQuery);
  });
  measuring = meter.start();
  const updateFloor = await timed(COUNT, CONCURRENCY, async (i) => {
    await waiting[i]!.executeUpdate(doneUpdate, { args: ['bench'] });
  });
  const updateFloorCpu = measuring();
  const handlerToken = (await (
    await fetch(`${api}/v1/tokens`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ subject: 'bench', role: 'handler' }),
    })
  ).json()) as { token: string };
  measuring = meter.start();
  const completed = await timed(COUNT, CONCURRENCY, async (i) => {
    const res = await fetch(`${api}/v1/matters/${created[i]}/complete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${handlerToken.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'done' }),
    });
    if (res.status !== 200) throw new Error(`complete failed: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  });
  const completedCpu = measuring();

  await fetch(`${api}/v1/source-systems`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ code: 'bench-bulk', name: 'Bench bulk', trusted: true }),
  });
  measuring = meter.start();
  const bulkFloor = await timed(BULK_COUNT, BULK_CONCURRENCY, async () => {
    await client.workflow.start('emptyWorkflow', {
      taskQueue: FLOOR_QUEUE,
      workflowId: `bulk-floor-${randomUUID()}`,
    });
  });
  const bulkFloorCpu = measuring();
  measuring = meter.start();
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
  const bulkCpu = measuring();

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
      postgres: `server ${postgres} at DATABASE_URL`,
    },
    topology: TOPOLOGY,
    parameters: { count: COUNT, concurrency: CONCURRENCY, dbPoolMax: config.dbPoolMax },
    // CPU seconds spent during each measurement, from /proc: each process, the machine, and the rest.
    floor: { name: 'client.workflow.start(emptyWorkflow)', ...floor, cpuSeconds: floorCpu },
    matterflow: { name: 'POST /v1/matters', ...matterflow, cpuSeconds: matterflowCpu },
    ratio: matterflow.perSecond / floor.perSecond,
    complete: {
      floor: {
        name: 'handle.executeUpdate on a workflow waiting for it',
        ...updateFloor,
        cpuSeconds: updateFloorCpu,
      },
      matterflow: { name: 'POST /v1/matters/:id/complete', ...completed, cpuSeconds: completedCpu },
      ratioP50: completed.p50Ms / updateFloor.p50Ms,
      ratioP99: completed.p99Ms / updateFloor.p99Ms,
    },
    bulk: {
      count: BULK_COUNT,
      floor: {
        name: `client.workflow.start(emptyWorkflow), ${BULK_CONCURRENCY} concurrent`,
        ...bulkFloor,
        cpuSeconds: bulkFloorCpu,
      },
      matterflow: { name: 'one POST /v1/sources/:source/matters/bulk', ...bulk, cpuSeconds: bulkCpu },
      ratio: bulk.perSecond / bulkFloor.perSecond,
    },
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}b1-create.json`, `${JSON.stringify(result, null, 2)}\n`);
  const f = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const cpuCells = (cpu: CpuSplit, worker: string, ops: number, seconds: number) =>
    [worker, 'bench', 'engine']
      .map((name) => cpu.each[name] ?? 0)
      .concat(cpu.rest)
      .map(f2)
      .concat(f((cpu.machine * 1000) / ops), f2(cpu.machine / seconds))
      .join(' | ');
  writeFileSync(
    `${RESULTS}b1-create.md`,
    `# B1 matter creation (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; Node ${result.versions.node}; ${result.versions.temporalCli}; SDK ${result.versions.temporalSdk}; Postgres ${result.versions.postgres}. ${COUNT} each, ${CONCURRENCY} concurrent.

Topology, as deployed: each side's worker in a process of its own.

- bench: ${TOPOLOGY.bench}
- matterflow's worker: ${TOPOLOGY.matterflowWorker}
- floor's worker: ${TOPOLOGY.floorWorker}
- Temporal: ${TOPOLOGY.temporal}; Postgres: ${TOPOLOGY.postgres}

CPU, from /proc during each measurement: that side's worker process; this process (load generator, API, clients); the Temporal dev server; the rest of the machine (Postgres, the kernel, the other side's idle worker). Machine ms per op: every core's busy time over the operations; cores busy: of ${cpus().length}.

| what | per second | p50 ms | p99 ms | ${CPU_HEADER} |
| --- | ---: | ---: | ---: | ${CPU_RULE} |
| floor: ${result.floor.name} | ${f(floor.perSecond)} | ${f(floor.p50Ms)} | ${f(floor.p99Ms)} | ${cpuCells(floorCpu, 'floorWorker', COUNT, floor.seconds)} |
| matterflow: ${result.matterflow.name} | ${f(matterflow.perSecond)} | ${f(matterflow.p50Ms)} | ${f(matterflow.p99Ms)} | ${cpuCells(matterflowCpu, 'matterflowWorker', COUNT, matterflow.seconds)} |

Ratio (matterflow / floor): **${result.ratio.toFixed(2)}**

## B2 complete: ${COUNT} each, ${CONCURRENCY} concurrent

| what | per second | p50 ms | p99 ms | ${CPU_HEADER} |
| --- | ---: | ---: | ---: | ${CPU_RULE} |
| floor: ${result.complete.floor.name} | ${f(updateFloor.perSecond)} | ${f(updateFloor.p50Ms)} | ${f(updateFloor.p99Ms)} | ${cpuCells(updateFloorCpu, 'floorWorker', COUNT, updateFloor.seconds)} |
| matterflow: ${result.complete.matterflow.name} | ${f(completed.perSecond)} | ${f(completed.p50Ms)} | ${f(completed.p99Ms)} | ${cpuCells(completedCpu, 'matterflowWorker', COUNT, completed.seconds)} |

Ratio (matterflow / floor): p50 **${result.complete.ratioP50.toFixed(2)}**, p99 **${result.complete.ratioP99.toFixed(2)}**

## Bulk ingestion: ${BULK_COUNT} matters in one request

| what | seconds | per second | ${CPU_HEADER} |
| --- | ---: | ---: | ${CPU_RULE} |
| floor: ${result.bulk.floor.name} | ${f(bulkFloor.seconds)} | ${f(bulkFloor.perSecond)} | ${cpuCells(bulkFloorCpu, 'floorWorker', BULK_COUNT, bulkFloor.seconds)} |
| matterflow: ${result.bulk.matterflow.name} | ${f(bulk.seconds)} | ${f(bulk.perSecond)} | ${cpuCells(bulkCpu, 'matterflowWorker', BULK_COUNT, bulk.seconds)} |

Ratio (matterflow / floor): **${result.bulk.ratio.toFixed(2)}**
`,
  );
  process.stdout.write(`${readFileSync(`${RESULTS}b1-create.md`, 'utf8')}\n`);
} catch (err) {
  failure = err;
}

await app.close();
await connection.close();
await sql.end({ timeout: 5 });
await stopAll();
if (failure) throw failure;
