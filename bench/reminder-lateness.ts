import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../src/api/app.js';
import { MAX_BULK_ITEMS } from '../src/api/source-schemas.js';
import { loadConfig } from '../src/config.js';
import { seedAdminToken } from '../src/db/api-tokens.js';
import { createSql } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { freePort } from '../src/runtime/free-port.js';
import { startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../src/runtime/tools.js';
import { writeWorkflowBundle } from '../src/runtime/workflow-bundle.js';
import { newSecret } from '../src/security/secret-hash.js';
import { sharedDatabase } from './support/shared-database.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';
import { timerWorkflow } from './workflows/timer.js';

/**
 * B3: how late reminders reach a webhook receiver when DUE of OPEN open matters, all held by one worker,
 * fall due at the same instant; beside its floor in the same run: as many bare workflows that each sleep on
 * one Temporal timer until their instant, then report to the same receiver through one activity.
 *
 * As deployed (docker-compose.yml: api and worker are separate services), matterflow's worker runs
 * `worker.ts` with a prebuilt bundle in a process of its own, and so does the floor's timer worker
 * (bench/workflows/floor-worker.ts); this process holds the API, the receiver's thread and the load.
 * DATABASE_URL is required: a Postgres server this process and the worker process both reach. The
 * deployment's own settings (DB_POOL_MAX, WORKER_* tuning, REMINDER_CAP_*) reach both from the environment.
 * BENCH_RESULTS_DIR: where the results go (bench/results/).
 */
const OPEN = Number(process.env.BENCH_B3_OPEN ?? 10_000);
const DUE = Number(process.env.BENCH_B3_DUE ?? 1_000);
const HANDLERS = Number(process.env.BENCH_B3_HANDLERS ?? 100);
/**
 * From the start of the due matters' setup to their reminders' instant; by default three times what the
 * other matters' setup took per matter, plus the floor's minute and the quiet.
 */
const LEAD_MS = process.env.BENCH_B3_LEAD_S ? Number(process.env.BENCH_B3_LEAD_S) * 1000 : null;
/** 0: every reminder at one instant; else spread evenly over this long. */
const SPREAD_MS = Number(process.env.BENCH_B3_SPREAD_MS ?? 0);
/** Past its planned time, how long a reminder may take before it counts as missing. */
const WAIT_MS = Number(process.env.BENCH_B3_WAIT_S ?? 60) * 1000;
/** The floor fires this long before the reminders, so neither measurement loads the other. */
const FLOOR_AHEAD_MS = 60_000;
/** Aimed for between the end of setup and the floor's instant, so the reminders come two minutes after it. */
const QUIET_MS = 60_000;
/** Listening on after the last expected arrival, for duplicates. */
const SETTLE_MS = 10_000;
/** Without one more assignment notice for this long, setup is stuck. */
const STALL_MS = 180_000;
/** The due matters' one notice, this long before their due time. */
const BEFORE_DUE = 'PT1H';
const BEFORE_DUE_MS = 3_600_000;
/** Where b3-reminder-lateness.json and .md go. */
const RESULTS = join(
  process.env.BENCH_RESULTS_DIR ?? fileURLToPath(new URL('./results/', import.meta.url)),
  '/',
);
const TOPOLOGY = {
  bench: 'this process: API (Fastify and its Temporal client), the receiver on a thread, the load',
  matterflowWorker: 'node --import tsx worker.ts, prebuilt workflow bundle (WORKFLOW_BUNDLE_PATH)',
  floorWorker: 'node --import tsx bench/workflows/floor-worker.ts (timer.ts)',
};

const databaseUrl = await sharedDatabase('B3');
if (DUE >= OPEN) throw new Error('BENCH_B3_DUE must be below BENCH_B3_OPEN');
if (LEAD_MS !== null && LEAD_MS < FLOOR_AHEAD_MS + QUIET_MS) {
  throw new Error(`BENCH_B3_LEAD_S must be at least ${(FLOOR_AHEAD_MS + QUIET_MS) / 1000}`);
}

interface Arrival {
  at: number;
  /** The webhook's `type`, or `floor`. */
  kind: string;
  id: string;
}

/**
 * On a thread of its own, so an arrival is stamped when it lands, not when the worker's busy event loop
 * gets round to it.
 */
const RECEIVER = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    res.writeHead(200).end();
    let body = null;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {}
    parentPort.postMessage(
      req.url === '/floor'
        ? { at, kind: 'floor', id: String(body?.id) }
        : { at, kind: String(body?.type ?? 'unreadable'), id: String(body?.matter?.id ?? '') },
    );
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

async function startReceiver() {
  const thread = new Thread(RECEIVER, { eval: true });
  const arrivals: Arrival[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('error', reject);
    thread.on('message', (m: Arrival | { port: number }) => {
      if ('port' in m) resolve(m.port);
      else arrivals.push(m);
    });
  });
  return { url: `http://127.0.0.1:${port}`, arrivals, stop: () => thread.terminate() };
}

async function inParallel(count: number, concurrency: number, one: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await one(i);
    }),
  );
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
  return { minMs: sorted[0] ?? null, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? null };
}

async function until(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && Date.now() < deadline) await delay(250);
}

// Warnings would be one line per slow workflow task, thousands of them when the worker falls behind.
const LOG_LEVEL = 'error';
const log = createLogger(LOG_LEVEL);
const temporalServer = await startDevServer({ cli: temporalCliPath(), port: await freePort(), uiPort: null });
const adminToken = newSecret();
const receiver = await startReceiver();
const bundleDir = mkdtempSync(join(tmpdir(), 'matterflow-b3-'));
const workers: WorkerProcess[] = [];
const stopAll = async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await receiver.stop();
  await temporalServer.stop();
  rmSync(bundleDir, { recursive: true, force: true });
};
// Killed part-way, the bench takes its workers and dev server down with it rather than leave them running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(1));
  });
}
const env = {
  DATABASE_URL: databaseUrl,
  TEMPORAL_ADDRESS: temporalServer.address,
  // The API seals and signs what the worker opens and checks.
  LINK_SECRET: newSecret(48),
  TASK_QUEUE: 'bench-reminders',
  LOG_LEVEL,
  // The receiver is on loopback, which webhooks may reach only when the operator allows it.
  OUTBOUND_ALLOW_HOSTS: new URL(receiver.url).host,
};
// The worker process inherits this environment too, so both read the same settings.
const config = loadConfig({ ...process.env, ...env });
const sql = createSql(databaseUrl, { max: config.dbPoolMax });
await seedAdminToken(sql, adminToken);
const connection = await Connection.connect({ address: temporalServer.address });
const client = new Client({ connection });
// Built here, as `npm run build:workflows` builds it for the image, so the worker starts without webpack.
const bundlePath = await writeWorkflowBundle(join(bundleDir, 'workflows.js'));
const app = await buildApp({ config, sql, temporal: client, log });
await app.listen({ host: '127.0.0.1', port: 0 });
const api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };

async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${api}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// Ids new to this run: the database may keep an earlier run's handlers, and their reminders count to the cap.
const run = randomBytes(3).toString('hex');
const source = `b3-${run}`;
const handlerIds = Array.from({ length: HANDLERS }, (_, i) => `b3-${run}-h${i}`);

/** Pushes the items in bulk requests, one after another as a source would; the created matters' ids in order. */
async function push(items: object[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < items.length; start += MAX_BULK_ITEMS) {
    const chunk = items.slice(start, start + MAX_BULK_ITEMS);
    const body = (await post(`/v1/sources/${source}/matters/bulk`, { items: chunk })) as {
      results: { index: number; matterId?: string; error?: unknown }[];
      counts: Record<string, number>;
    };
    if (body.counts.created !== chunk.length) {
      const failed = body.results.find((r) => r.error);
      throw new Error(`bulk push: ${JSON.stringify(body.counts)}, e.g. ${JSON.stringify(failed)}`);
    }
    ids.push(...body.results.sort((a, b) => a.index - b.index).map((r) => r.matterId!));
  }
  return ids;
}

const assigned = () =>
  new Set(receiver.arrivals.filter((a) => a.kind === 'matter.assigned').map((a) => a.id));
async function allAssigned(ids: string[]): Promise<void> {
  const lacking = () => {
    const seen = assigned();
    return ids.filter((id) => !seen.has(id)).length;
  };
  let left = lacking();
  let progressAt = Date.now();
  while (left > 0 && Date.now() - progressAt < STALL_MS) {
    await delay(250);
    const now = lacking();
    if (now < left) progressAt = Date.now();
    left = now;
  }
  if (left > 0) throw new Error(`${left} assignment notices never arrived`);
}

let failure: unknown;
try {
  workers.push(await startWorkerProcess({ ...env, WORKFLOW_BUNDLE_PATH: bundlePath }));
  workers.push(
    await startWorkerProcess(
      {
        TEMPORAL_ADDRESS: temporalServer.address,
        TASK_QUEUE: 'bench-timer',
        FLOOR_WORKFLOWS: 'timer',
        FLOOR_RECEIVER_URL: receiver.url,
      },
      'bench/workflows/floor-worker.ts',
    ),
  );
  const perHandler = Math.ceil(DUE / HANDLERS);
  if (perHandler > config.reminderCaps.perHour) {
    throw new Error(
      `${perHandler} reminders per handler exceed REMINDER_CAP_PER_HOUR (${config.reminderCaps.perHour}): some would be folded into a digest; raise BENCH_B3_HANDLERS`,
    );
  }
  const setupStarted = performance.now();
  await inParallel(HANDLERS, 8, (i) =>
    post('/v1/handlers', {
      id: handlerIds[i],
      name: `B3 handler ${i}`,
      // No quiet hours, and the rules name no calendar: nothing moves a reminder off its planned time.
      channels: [{ type: 'webhook', address: `${receiver.url}/hooks/${handlerIds[i]}` }],
    }),
  );
  await post('/v1/source-systems', { code: source, name: 'B3 bench', trusted: true });

  // The default rule (priority normal) reminds four hours after assignment, long after this run.
  const bulkStarted = performance.now();
  const background = await push(
    Array.from({ length: OPEN - DUE }, (_, i) => ({
      externalId: `open-${i}`,
      version: 1,
      title: `B3 open matter ${i}`,
      handlerId: handlerIds[i % HANDLERS],
    })),
  );
  const backgroundPushSeconds = (performance.now() - bulkStarted) / 1000;
  await allAssigned(background);
  const backgroundSeconds = (performance.now() - bulkStarted) / 1000;

  const leadMs = LEAD_MS ?? (3 * DUE * backgroundSeconds * 1000) / (OPEN - DUE) + FLOOR_AHEAD_MS + QUIET_MS;
  const reminderAt = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const floorAt = reminderAt - FLOOR_AHEAD_MS;
  const offset = (i: number) => Math.floor((i * SPREAD_MS) / DUE);
  const dueStarted = performance.now();
  // The before-due notice is the only one (maxCount 0: no repeats), planned to the millisecond. Not urgent,
  // so it is counted against the handler's cap like any reminder.
  const due = await push(
    Array.from({ length: DUE }, (_, i) => ({
      externalId: `due-${i}`,
      version: 1,
      title: `B3 due matter ${i}`,
      handlerId: handlerIds[i % HANDLERS],
      dueAt: new Date(reminderAt + offset(i) + BEFORE_DUE_MS).toISOString(),
      reminderRule: { every: 'P1D', maxCount: 0, beforeDue: [BEFORE_DUE] },
    })),
  );
  await inParallel(DUE, 24, (i) =>
    client.workflow.start(timerWorkflow, {
      taskQueue: 'bench-timer',
      workflowId: `b3-${run}-timer-${i}`,
      args: [`timer-${i}`, floorAt + offset(i)],
    }),
  );
  await allAssigned(due);
  const dueSeconds = (performance.now() - dueStarted) / 1000;
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const quietSeconds = (floorAt - Date.now()) / 1000;
  // Timers firing while setup still runs would measure the setup's load, not the reminders'.
  if (quietSeconds <= 0) {
    throw new Error(
      `setup ended ${(-quietSeconds).toFixed(1)} s after the floor's timers were due: raise BENCH_B3_LEAD_S`,
    );
  }

  const reminders = new Map(due.map((id, i) => [id, reminderAt + offset(i)]));
  const timers = new Map(Array.from({ length: DUE }, (_, i) => [`timer-${i}`, floorAt + offset(i)]));
  const arrived = (kind: string, expected: Map<string, number>) => () =>
    new Set(receiver.arrivals.filter((a) => a.kind === kind && expected.has(a.id)).map((a) => a.id)).size >=
    expected.size;
  await until(arrived('floor', timers), floorAt + SPREAD_MS + WAIT_MS);
  await until(arrived('matter.reminder', reminders), reminderAt + SPREAD_MS + WAIT_MS);
  const load = loadavg();
  await delay(SETTLE_MS);

  const lateness = (kind: string, expected: Map<string, number>) => {
    const first = new Map<string, number>();
    let duplicates = 0;
    let unexpected = 0;
    for (const a of receiver.arrivals) {
      if (a.kind !== kind) continue;
      const planned = expected.get(a.id);
      if (planned === undefined) unexpected += 1;
      else if (first.has(a.id)) duplicates += 1;
      else first.set(a.id, a.at - planned);
    }
    return {
      received: first.size,
      missing: expected.size - first.size,
      duplicates,
      unexpected,
      ...percentiles([...first.values()]),
    };
  };
  const floor = lateness('floor', timers);
  const matterflow = lateness('matter.reminder', reminders);
  const others: Record<string, number> = {};
  for (const a of receiver.arrivals) {
    if (!['floor', 'matter.reminder', 'matter.assigned'].includes(a.kind))
      others[a.kind] = (others[a.kind] ?? 0) + 1;
  }
  const assignedArrivals = receiver.arrivals.filter((a) => a.kind === 'matter.assigned').length;

  // Where the time goes, from the rows each step writes, all against the planned time.
  const steps = await sql<
    { id: string; fired: Date; recorded: Date; claimed: Date | null; delivered: Date | null }[]
  >`
    select e.matter_id as id, e.occurred_at as fired, e.recorded_at as recorded,
      n.created_at as claimed, n.delivered_at as delivered
    from matter_events e
    left join notifications n on n.matter_id = e.matter_id and n.seq = e.seq
    where e.matter_id = any(${due}::uuid[]) and e.type = 'matter.reminder'`;
  const stage = (name: string, pick: (r: (typeof steps)[number]) => Date | null) => ({
    name,
    ...percentiles(
      steps.flatMap((r) => {
        const t = pick(r);
        return t ? [t.getTime() - reminders.get(r.id)!] : [];
      }),
    ),
  });
  const stages = [
    stage('timer fired: its workflow task started (event occurredAt)', (r) => r.fired),
    stage('recordEvent began its transaction (event recorded_at)', (r) => r.recorded),
    stage('deliverNotice claimed the notification (created_at)', (r) => r.claimed),
    stage('webhook answered, attempt recorded (delivered_at)', (r) => r.delivered),
  ];

  const pkg = (name: string) =>
    JSON.parse(
      readFileSync(fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)), 'utf8'),
    ).version as string;
  const [pgVersion] = await sql<{ server_version: string }[]>`show server_version`;
  const tuning = config.worker;
  const targets = { p99Ms: 2000, maxMs: 5000 };
  const result = {
    benchmark: 'B3 reminder lateness: open matters on one worker, many reminders due at once',
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtEnd: load.map((l) => Number(l.toFixed(2))),
    },
    versions: {
      node: process.version,
      temporalCli: execFileSync(temporalCliPath(), ['--version']).toString().trim(),
      temporalSdk: pkg('@temporalio/client'),
      fastify: pkg('fastify'),
      postgres: `server ${pgVersion?.server_version} at DATABASE_URL`,
    },
    parameters: {
      open: OPEN,
      due: DUE,
      handlers: HANDLERS,
      spreadMs: SPREAD_MS,
      waitMs: WAIT_MS,
      rule: { every: 'P1D', maxCount: 0, beforeDue: [BEFORE_DUE] },
      dbPoolMax: config.dbPoolMax,
      reminderCaps: config.reminderCaps,
      worker: {
        maxCachedWorkflows: tuning.maxCachedWorkflows,
        maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions,
        maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions,
        maxConcurrentLocalActivityExecutions: tuning.maxConcurrentLocalActivityExecutions,
      },
      topology: TOPOLOGY,
    },
    setup: {
      seconds: setupSeconds,
      backgroundPushSeconds,
      backgroundSeconds,
      dueSeconds,
      quietBeforeFloorSeconds: quietSeconds,
      assignmentNotices: { expected: OPEN, arrived: assignedArrivals },
    },
    targets,
    floor: {
      name: 'Temporal timer, then one activity POSTing to the receiver',
      at: new Date(floorAt),
      ...floor,
    },
    matterflow: {
      name: 'before-due reminder through the webhook channel',
      at: new Date(reminderAt),
      ...matterflow,
      stages,
    },
    otherNotices: others,
    met:
      matterflow.missing === 0 &&
      matterflow.p99Ms !== null &&
      matterflow.maxMs !== null &&
      matterflow.p99Ms <= targets.p99Ms &&
      matterflow.maxMs <= targets.maxMs,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}b3-reminder-lateness.json`, `${JSON.stringify(result, null, 2)}\n`);
  const ms = (n: number | null) => (n === null ? '–' : String(n));
  const row = (what: string, r: typeof floor) =>
    `| ${what} | ${r.received} | ${r.missing} | ${r.duplicates} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.maxMs)} |`;
  writeFileSync(
    `${RESULTS}b3-reminder-lateness.md`,
    `# B3 reminder lateness (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, load ${result.machine.loadAverageAtEnd.join(' ')}; Node ${result.versions.node}; ${result.versions.temporalCli}; SDK ${result.versions.temporalSdk}; Postgres ${pgVersion?.server_version}. ${OPEN} open matters on one worker (${HANDLERS} handlers, webhook channel), ${DUE} of them with a reminder due ${SPREAD_MS ? `over ${SPREAD_MS} ms` : 'at one instant'}; DB pool ${config.dbPoolMax}; worker cache ${tuning.maxCachedWorkflows}, ${tuning.maxConcurrentWorkflowTaskExecutions} workflow task slots, ${tuning.maxConcurrentActivityTaskExecutions} activity slots. Each side's worker in a process of its own: ${TOPOLOGY.matterflowWorker}; ${TOPOLOGY.floorWorker}.

Lateness: arrival at the receiver minus the planned time.

| what | received | missing | duplicates | p50 ms | p99 ms | max ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${row(`floor: ${result.floor.name}`, floor)}
${row(`matterflow: ${result.matterflow.name}`, matterflow)}

Where matterflow's time goes (ms after the planned time, from the rows each step writes):

| step | p50 ms | p99 ms | max ms |
| --- | ---: | ---: | ---: |
${stages.map((t) => `| ${t.name} | ${ms(t.p50Ms)} | ${ms(t.p99Ms)} | ${ms(t.maxMs)} |`).join('\n')}
| arrived at the receiver | ${ms(matterflow.p50Ms)} | ${ms(matterflow.p99Ms)} | ${ms(matterflow.maxMs)} |

Targets (p99 ≤ ${targets.p99Ms} ms, max ≤ ${targets.maxMs} ms, none missing): **${result.met ? 'met' : 'not met'}**

Setup ${setupSeconds.toFixed(1)} s: ${OPEN - DUE} open matters pushed in ${backgroundPushSeconds.toFixed(1)} s, all assigned (notice received) after ${backgroundSeconds.toFixed(1)} s; ${DUE} due matters and ${DUE} floor timers in ${dueSeconds.toFixed(1)} s; quiet for ${quietSeconds.toFixed(1)} s before the floor fired. Reminders for matters not due: ${matterflow.unexpected}; other notices received: ${JSON.stringify(others)}.
`,
  );
  process.stdout.write(`${readFileSync(`${RESULTS}b3-reminder-lateness.md`, 'utf8')}\n`);
} catch (err) {
  failure = err;
}

await app.close();
await connection.close();
await sql.end({ timeout: 5 });
await stopAll();
if (failure) throw failure;
