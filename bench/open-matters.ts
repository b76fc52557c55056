import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { parse } from 'yaml';
import { buildApp } from '../src/api/app.js';
import { MAX_BULK_ITEMS } from '../src/api/source-schemas.js';
import { loadConfig } from '../src/config.js';
import { seedAdminToken } from '../src/db/api-tokens.js';
import { createSql } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { freePort } from '../src/runtime/free-port.js';
import { startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../src/runtime/tools.js';
import { WORKFLOWS_PATH, writeWorkflowBundle } from '../src/runtime/workflow-bundle.js';
import { newSecret } from '../src/security/secret-hash.js';
import { stateQuery } from '../src/workflows/messages.js';
import { sharedDatabase } from './support/shared-database.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

/**
 * B5: how many open matters one worker holds, and its RSS. For each configuration, a worker in a process
 * of its own, so /proc gives its memory alone, while this process pushes BENCH_B5_OPEN idle matters
 * through the bulk route, then queries and completes a random sample of them: cached runs answer from
 * memory, evicted ones replay their history first. A configuration whose worker passes the RSS ceiling
 * stops taking matters there: its cost per cached run is known by then.
 */
interface Configuration {
  /** Worker env on top of the bench's own, e.g. WORKER_MAX_CACHED_WORKFLOWS. */
  env: Record<string, string | number>;
  /** Modules, from the repository root, that the bundle evaluates once for all runs (the SDK's preloadModules). */
  preloadModules?: string[];
  /** Node's flags for the worker process, e.g. its V8 heap limit. */
  nodeFlags?: string[];
}

const OPEN = Number(process.env.BENCH_B5_OPEN ?? 50_000);
/**
 * The workflows' pure modules and, through them, luxon and croner. Without this every run evaluates its
 * own copy of them; see the results for what that costs.
 */
const PURE_MODULES = [
  'src/domain/actions.ts',
  'src/domain/calendar.ts',
  'src/domain/duration.ts',
  'src/domain/planner.ts',
  'src/domain/schedule.ts',
];
/** What the image sets for every process (Dockerfile). */
const IMAGE_ENV = { MALLOC_ARENA_MAX: 2 };
/** The Node flags docker-compose.yml starts the worker with: the heap limit, measured as deployed. */
function deployedWorkerFlags(): string[] {
  const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), {
    merge: true,
  }) as {
    services: { worker: { command: string[] } };
  };
  const { command } = compose.services.worker;
  return command.slice(1, command.indexOf('--import'));
}
/** What the 2,000 run's RSS per cached run (about 460 KiB) leaves room for under the target, with a margin. */
const FITTING_CACHE = 3_000;
/** Fewer than the 40 workflow tasks the config allows: the SDK runs every activation on one thread. */
const FEW_WORKFLOW_TASKS = 10;
// Those with a cache of OPEN stop at the RSS ceiling; the slow full run comes last.
const CONFIGS: Configuration[] = process.env.BENCH_B5_CONFIGS
  ? JSON.parse(process.env.BENCH_B5_CONFIGS)
  : [
      { env: { WORKER_MAX_CACHED_WORKFLOWS: OPEN } },
      { env: { WORKER_MAX_CACHED_WORKFLOWS: OPEN, WORKER_MAX_WORKFLOW_TASKS: FEW_WORKFLOW_TASKS } },
      {
        env: { WORKER_MAX_CACHED_WORKFLOWS: OPEN, WORKER_MAX_WORKFLOW_TASKS: FEW_WORKFLOW_TASKS },
        preloadModules: PURE_MODULES,
      },
      {
        env: {
          WORKER_MAX_CACHED_WORKFLOWS: Math.min(FITTING_CACHE, Math.round(OPEN / 5)),
          WORKER_MAX_WORKFLOW_TASKS: FEW_WORKFLOW_TASKS,
        },
      },
      {
        env: {
          WORKER_MAX_CACHED_WORKFLOWS: Math.min(FITTING_CACHE, Math.round(OPEN / 5)),
          WORKER_MAX_WORKFLOW_TASKS: FEW_WORKFLOW_TASKS,
          ...IMAGE_ENV,
        },
        nodeFlags: deployedWorkerFlags(),
      },
    ];
const IN_FLIGHT = Number(process.env.BENCH_B5_IN_FLIGHT ?? 2);
const WINDOW = Number(process.env.BENCH_B5_WINDOW ?? 2 * MAX_BULK_ITEMS);
const SAMPLE = Number(process.env.BENCH_B5_SAMPLE ?? 200);
const TARGET_OPEN = 50_000;
const TARGET_RSS_MB = 2048;
/** Just past the target: by then a configuration has failed it, and its RSS per cached run is known. */
const RSS_CEILING_MB = Number(process.env.BENCH_B5_RSS_CEILING_MB ?? Math.round(1.1 * TARGET_RSS_MB));
const HANDLERS = 10;
/** A year away: each matter waits on one timer and does nothing while measured. */
const REMINDER_RULE = { every: 'P365D' };
/** Once all are held, what the worker still finishes (the last activities' tasks) settles within this. */
const SETTLE_MS = 15_000;
/** Without one more matter held for this long, the run is stuck. */
const STALL_MS = 180_000;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const percentiles = (latencies: number[]) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! };
};

/** Sum of a Prometheus text exposition's samples named `name` whose labels contain `labels`. */
function metric(text: string, name: string, labels = ''): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name || !(m[2] ?? '').includes(labels)) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/**
 * The main thread's V8 heap, from the worker's own metrics (prom-client's Node defaults): activities,
 * the SDK's bridge. Workflows run in the SDK's worker thread, whose heap is in RSS but not here.
 */
function heapMb(text: string): { usedMb: number; totalMb: number } {
  return {
    usedMb: (metric(text, 'nodejs_heap_size_used_bytes') ?? Number.NaN) / MB,
    totalMb: (metric(text, 'nodejs_heap_size_total_bytes') ?? Number.NaN) / MB,
  };
}

/** Mean of a core histogram (milliseconds) between two scrapes. */
function meanMs(before: string, after: string, histogram: string): number | null {
  const delta = (suffix: string) =>
    (metric(after, `${histogram}${suffix}`) ?? 0) - (metric(before, `${histogram}${suffix}`) ?? 0);
  return delta('_count') > 0 ? delta('_sum') / delta('_count') : null;
}

/** Share of a core histogram's observations between two scrapes that fell above its `le` bucket. */
function shareAbove(before: string, after: string, histogram: string, le: string): number | null {
  const delta = (name: string, labels = '') =>
    (metric(after, name, labels) ?? 0) - (metric(before, name, labels) ?? 0);
  const count = delta(`${histogram}_count`);
  return count > 0 ? 1 - delta(`${histogram}_bucket`, `le="${le}"`) / count : null;
}

const run = Date.now().toString(36);
const databaseUrl = await sharedDatabase('B5');
const log = createLogger('warn');
const temporalServer = await startDevServer({ cli: temporalCliPath(), port: await freePort(), uiPort: null });
const bundleDir = mkdtempSync(join(tmpdir(), 'matterflow-b5-'));
let runningWorker: WorkerProcess | null = null;
// Killed part-way, the bench takes its worker and dev server down with it rather than leave them running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([runningWorker?.stop(), temporalServer.stop()]).finally(() => process.exit(1));
  });
}

/** Built here, as `npm run build:workflows` builds it: a worker that bundled at start would count webpack. */
async function bundleFor(preloadModules: string[] | undefined, index: number): Promise<string> {
  const path = join(bundleDir, `workflows-${index}.js`);
  if (!preloadModules) return writeWorkflowBundle(path);
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: preloadModules.map((m) => join(ROOT, m)),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(path, code);
  return path;
}

const adminToken = newSecret();
const baseEnv = {
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporalServer.address,
  LINK_SECRET: newSecret(48),
  LOG_LEVEL: 'warn',
};
const sql = createSql(databaseUrl, { max: 10 });
await seedAdminToken(sql, adminToken);
const [{ server_version: postgres }] = await sql<[{ server_version: string }]>`show server_version`;
const connection = await Connection.connect({ address: temporalServer.address });
const client = new Client({ connection });
const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };

/**
 * The API starting matters on `taskQueue`. Each configuration has a queue of its own: a task left by an
 * earlier configuration's runs (an activity finishing after its worker stopped) never reaches the next.
 */
async function startApi(taskQueue: string) {
  const app = await buildApp({
    config: loadConfig({ ...baseEnv, TASK_QUEUE: taskQueue }),
    sql,
    temporal: client,
    log,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    async post(path: string, body: unknown, headers: Record<string, string> = auth) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as unknown;
    },
    close: () => app.close(),
  };
}
type Api = Awaited<ReturnType<typeof startApi>>;

// Ids carry the run, so a database kept from an earlier run neither refuses nor mixes them up.
const handlerIds = Array.from({ length: HANDLERS }, (_, k) => `b5-${run}-h${k}`);
const handlerTokens = new Map<string, string>();
const setup = await startApi(`b5-${run}`);
for (const id of handlerIds) {
  await setup.post('/v1/handlers', { id, name: `Bench ${id}`, channels: [] });
  const { token } = (await setup.post('/v1/tokens', { subject: id, role: 'handler' })) as { token: string };
  handlerTokens.set(id, token);
}
await setup.close();
// All before the first worker starts, so every configuration runs the same workflow code.
const bundles: string[] = [];
for (const [i, c] of CONFIGS.entries()) bundles.push(await bundleFor(c.preloadModules, i + 1));

/** Matters of `source` whose run has recorded its assignment and sent (nowhere) its first notice. */
async function heldCount(source: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from matters m join notifications n on n.matter_id = m.id and n.seq = 1
    where m.source = ${source} and m.status = 'open'`;
  return row!.n;
}

/**
 * Pushes `OPEN` matters, a bulk request at a time, until done or `stopped()`; resolves to how many were
 * created. At most WINDOW are pushed and not yet held: more only queue on the server, where a backlog of
 * starts slows the dispatch of the tasks the worker is waiting for.
 */
async function push(api: Api, source: string, held: () => number, stopped: () => boolean): Promise<number> {
  let next = 0;
  let created = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (;;) {
        while (!stopped() && next + MAX_BULK_ITEMS - held() > WINDOW) await sleep(500);
        if (stopped() || next >= OPEN) return;
        const from = next;
        next += MAX_BULK_ITEMS;
        const items = Array.from({ length: Math.min(MAX_BULK_ITEMS, OPEN - from) }, (_, k) => ({
          externalId: `m${from + k}`,
          version: 1,
          title: `Bench open matter ${from + k}`,
          handlerId: handlerIds[(from + k) % HANDLERS],
          reminderRule: REMINDER_RULE,
        }));
        const { counts } = (await api.post(`/v1/sources/${source}/matters/bulk`, { items })) as {
          counts: Record<string, number>;
        };
        if (counts.created !== items.length) throw new Error(`bulk: ${JSON.stringify(counts)}`);
        created += items.length;
      }
    }),
  );
  return created;
}

async function measure(index: number, configuration: Configuration) {
  const overrides = Object.fromEntries(Object.entries(configuration.env).map(([k, v]) => [k, String(v)]));
  const source = `b5-${run}-${index}`;
  const env = { ...baseEnv, ...overrides, TASK_QUEUE: source, WORKFLOW_BUNDLE_PATH: bundles[index - 1]! };
  const tuning = loadConfig(env).worker;
  const api = await startApi(source);
  await api.post('/v1/source-systems', { code: source, name: `Bench B5 ${index}`, trusted: true });
  const worker = await startWorkerProcess(env, 'worker.ts', configuration.nodeFlags);
  runningWorker = worker;
  try {
    await sleep(5_000);
    const baseline = worker.memory();
    process.stderr.write(
      `config ${index} ${JSON.stringify(configuration)}: baseline ${baseline.rssMb.toFixed(0)} MB\n`,
    );

    const cpuBefore = worker.cpuSeconds();
    const coreBefore = await worker.coreMetrics();
    const minFreeSlots = { workflow: Number.POSITIVE_INFINITY, activity: Number.POSITIVE_INFINITY };
    const samples: {
      seconds: number;
      held: number;
      rssMb: number;
      heapUsedMb: number;
      heapTotalMb: number;
    }[] = [];
    let peakHeapUsedMb = 0;
    let polls = 0;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let ceilingReached = false;
    let held = 0;
    let created: number | null = null;
    let acceptedSeconds = 0;
    let failed: unknown;
    void push(
      api,
      source,
      () => held,
      () => ceilingReached,
    ).then(
      (n) => {
        created = n;
        acceptedSeconds = seconds();
      },
      (err: unknown) => {
        failed = err;
      },
    );
    let progressAt = performance.now();
    while (created === null || held < created) {
      if (failed) throw failed;
      if (worker.exit()) throw new Error(`worker exited (${worker.exit()}) with ${held} matters held`);
      await sleep(2_000);
      const now = await heldCount(source);
      if (now > held) progressAt = performance.now();
      held = now;
      if (performance.now() - progressAt > STALL_MS) throw new Error(`stuck at ${held} of ${OPEN} held`);
      const core = await worker.coreMetrics();
      const free = (type: string) =>
        metric(core, 'temporal_worker_task_slots_available', `worker_type="${type}"`) ?? Number.NaN;
      minFreeSlots.workflow = Math.min(minFreeSlots.workflow, free('WorkflowWorker'));
      minFreeSlots.activity = Math.min(minFreeSlots.activity, free('ActivityWorker'));
      const { rssMb } = worker.memory();
      const heap = heapMb(await worker.appMetrics());
      peakHeapUsedMb = Math.max(peakHeapUsedMb, heap.usedMb);
      ceilingReached ||= rssMb > RSS_CEILING_MB;
      if (++polls % 15 === 0) {
        samples.push({ seconds: seconds(), held, rssMb, heapUsedMb: heap.usedMb, heapTotalMb: heap.totalMb });
        process.stderr.write(
          `  ${held}/${OPEN} held after ${seconds().toFixed(0)} s, RSS ${rssMb.toFixed(0)} MB, V8 heap ${heap.usedMb.toFixed(0)} of ${heap.totalMb.toFixed(0)} MB\n`,
        );
      }
    }
    const heldSeconds = seconds();
    const creationCpuSeconds = worker.cpuSeconds() - cpuBefore;
    const coreCreated = await worker.coreMetrics();
    await sleep(SETTLE_MS);
    const atOpen = worker.memory();
    const heapAtOpen = heapMb(await worker.appMetrics());
    const coreAtOpen = await worker.coreMetrics();
    const cachedRuns =
      metric(coreAtOpen, 'temporal_sticky_cache_size') ?? Math.min(held, tuning.maxCachedWorkflows);

    // Two disjoint samples: a query that replays an evicted run caches it, which would flatter a later action.
    const picked = await sql<{ id: string; workflowId: string; handlerId: string }[]>`
      select id, workflow_id as "workflowId", handler_id as "handlerId" from matters
      where source = ${source} and status = 'open' order by random() limit ${2 * SAMPLE}`;
    const misses = (text: string) => metric(text, 'temporal_sticky_cache_miss_total') ?? 0;
    const queryMs: number[] = [];
    for (const m of picked.slice(0, SAMPLE)) {
      const t = performance.now();
      const state = await client.workflow.getHandle(m.workflowId).query(stateQuery);
      queryMs.push(performance.now() - t);
      if (state.status !== 'open') throw new Error(`matter ${m.id} is ${state.status}`);
    }
    const coreQueried = await worker.coreMetrics();
    const completeMs: number[] = [];
    for (const m of picked.slice(SAMPLE)) {
      const t = performance.now();
      await api.post(
        `/v1/matters/${m.id}/complete`,
        { outcome: 'done' },
        { authorization: `Bearer ${handlerTokens.get(m.handlerId)}`, 'content-type': 'application/json' },
      );
      completeMs.push(performance.now() - t);
    }
    const coreCompleted = await worker.coreMetrics();
    const end = worker.memory();
    return {
      configuration,
      tuning: {
        maxCachedWorkflows: tuning.maxCachedWorkflows,
        maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions,
        maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions,
        maxConcurrentLocalActivityExecutions: tuning.maxConcurrentLocalActivityExecutions,
      },
      open: held,
      ceilingReached,
      cachedRuns,
      rss: {
        baselineMb: baseline.rssMb,
        atOpenMb: atOpen.rssMb,
        peakMb: end.peakMb,
        afterActionsMb: end.rssMb,
        mainHeapUsedAtOpenMb: heapAtOpen.usedMb,
        mainHeapTotalAtOpenMb: heapAtOpen.totalMb,
        /** Highest main-thread V8 heap in use among the two-second polls while matters were pushed. */
        mainPeakHeapUsedMb: peakHeapUsedMb,
        // With evictions, RSS also holds the garbage of runs no longer cached: no cost per run to tell.
        bytesPerCachedRun:
          cachedRuns > 0 && cachedRuns >= held ? ((atOpen.rssMb - baseline.rssMb) * MB) / cachedRuns : null,
      },
      creation: {
        acceptedSeconds,
        heldSeconds,
        perSecond: held / heldSeconds,
        workerCpuSeconds: creationCpuSeconds,
        minFreeSlots,
        workflowTaskMeanMs: meanMs(coreBefore, coreCreated, 'temporal_workflow_task_execution_latency'),
        /** Past a second on the one workflow thread, a task is queueing there, on its way to the 10 s timeout. */
        workflowTasksOverOneSecond: shareAbove(
          coreBefore,
          coreCreated,
          'temporal_workflow_task_execution_latency',
          '1000',
        ),
        workflowTaskScheduleToStartMeanMs: meanMs(
          coreBefore,
          coreCreated,
          'temporal_workflow_task_schedule_to_start_latency',
        ),
      },
      query: { cacheMisses: misses(coreQueried) - misses(coreAtOpen), ...percentiles(queryMs) },
      complete: { cacheMisses: misses(coreCompleted) - misses(coreQueried), ...percentiles(completeMs) },
      samples,
    };
  } finally {
    runningWorker = null;
    await worker.stop();
    await api.close();
  }
}

const pkg = (name: string) =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)), 'utf8'),
  ).version as string;
const temporalCli = execFileSync(temporalCliPath(), ['--version']).toString().trim();

function writeResults(): void {
  const result = {
    benchmark: 'B5 open matters one worker holds, and its RSS',
    at: new Date().toISOString(),
    targets: { open: TARGET_OPEN, rssMb: TARGET_RSS_MB },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    versions: {
      node: process.version,
      temporalCli,
      temporalSdk: pkg('@temporalio/worker'),
      postgres,
    },
    parameters: {
      open: OPEN,
      rssCeilingMb: RSS_CEILING_MB,
      handlers: HANDLERS,
      bulkItems: MAX_BULK_ITEMS,
      bulkInFlight: IN_FLIGHT,
      window: WINDOW,
      sample: SAMPLE,
      reminderRule: REMINDER_RULE,
      worker: 'node --import tsx worker.ts with a prebuilt workflow bundle; in-memory dev server',
    },
    configurations: measured,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}b5-open-matters.json`, `${JSON.stringify(result, null, 2)}\n`);
  const f = (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits));
  const label = (c: (typeof measured)[number]) =>
    `${c.tuning.maxCachedWorkflows} / ${c.tuning.maxConcurrentWorkflowTaskExecutions} / ${c.tuning.maxConcurrentActivityTaskExecutions}${c.configuration.preloadModules ? ', pure modules preloaded' : ''}${c.configuration.nodeFlags ? `, ${c.configuration.nodeFlags.join(' ')}` : ''}${Object.entries(
      c.configuration.env,
    )
      .filter(([k]) => !k.startsWith('WORKER_'))
      .map(([k, v]) => `, ${k}=${v}`)
      .join('')}`;
  const row = (c: (typeof measured)[number]) =>
    [
      label(c),
      `${c.open}${c.ceilingReached ? ' (ceiling)' : ''}`,
      c.cachedRuns,
      f(c.rss.baselineMb),
      f(c.rss.atOpenMb),
      f(c.rss.peakMb),
      `${f(c.rss.mainHeapUsedAtOpenMb)} / ${f(c.rss.mainPeakHeapUsedMb)}`,
      f(c.rss.bytesPerCachedRun === null ? null : c.rss.bytesPerCachedRun / 1024),
      `${f(c.creation.heldSeconds)} (${f(c.creation.perSecond, 1)}/s)`,
      `${f(c.query.p50Ms, 1)} / ${f(c.query.p99Ms, 1)}`,
      `${c.query.cacheMisses}/${SAMPLE}`,
      `${f(c.complete.p50Ms, 1)} / ${f(c.complete.p99Ms, 1)}`,
    ].join(' | ');
  const creationRow = (c: (typeof measured)[number]) =>
    [
      label(c),
      `${f(c.creation.workerCpuSeconds)} of ${f(c.creation.heldSeconds)}`,
      f((1000 * c.creation.workerCpuSeconds) / c.open, 1),
      `${c.creation.minFreeSlots.workflow}, ${c.creation.minFreeSlots.activity}`,
      f(c.creation.workflowTaskMeanMs),
      c.creation.workflowTasksOverOneSecond === null
        ? '–'
        : `${f(100 * c.creation.workflowTasksOverOneSecond, 1)} %`,
      f(c.creation.workflowTaskScheduleToStartMeanMs),
    ].join(' | ');
  writeFileSync(
    `${RESULTS}b5-open-matters.md`,
    `# B5 open matters one worker holds (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; Node ${result.versions.node}; ${result.versions.temporalCli}; SDK ${result.versions.temporalSdk}; Postgres ${postgres}. Targets: ${TARGET_OPEN.toLocaleString('en')} open matters in one worker, RSS ≤ ${TARGET_RSS_MB} MB.

Up to ${OPEN.toLocaleString('en')} open matters per configuration (reminder every P365D, ${HANDLERS} handlers without channels), pushed ${MAX_BULK_ITEMS} a request, ${IN_FLIGHT} requests in flight and at most ${WINDOW} not yet held, until the worker's RSS passed ${RSS_CEILING_MB} MB; the worker alone in its process (${result.parameters.worker}). Then ${SAMPLE} random open matters queried (Temporal query \`state\`) and ${SAMPLE} others completed through the API, one at a time. The main thread's heap leaves out the workflows: they run in the SDK's worker thread, whose V8 heap the flag \`--max-old-space-size\` also limits.

| cache / workflow tasks / activities | open | cached | RSS baseline MB | RSS at open MB | peak MB | main thread's V8 heap used at open / highest MB | KiB per cached run (RSS growth / cached) | all held after s | query p50 / p99 ms | query cache misses | complete p50 / p99 ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${measured.map((c) => `| ${row(c)} |`).join('\n')}

## Creating them

| cache / workflow tasks / activities | worker CPU s of wall s | worker CPU ms per matter | fewest free slots (workflow tasks, activities) | workflow task mean ms | workflow tasks over 1 s | schedule-to-start mean ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${measured.map((c) => `| ${creationRow(c)} |`).join('\n')}
`,
  );
}

const measured: Awaited<ReturnType<typeof measure>>[] = [];
try {
  for (const [i, configuration] of CONFIGS.entries()) {
    measured.push(await measure(i + 1, configuration));
    // After each, so an hours-long run that fails late keeps what it measured.
    writeResults();
  }
} finally {
  await connection.close();
  await sql.end({ timeout: 5 });
  await temporalServer.stop();
  rmSync(bundleDir, { recursive: true, force: true });
}
process.stdout.write(`${readFileSync(`${RESULTS}b5-open-matters.md`, 'utf8')}\n`);
