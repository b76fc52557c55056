import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { freePort } from '../src/runtime/free-port.js';
import { FILE_PRAGMAS, startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../src/runtime/tools.js';

/**
 * The file-backed dev server (what `npm start` runs) with SQLite's defaults and with FILE_PRAGMAS: empty
 * workflows started and run to completion per second, so the pragmas `npm start` uses are measured ones.
 */
const COUNT = Number(process.env.BENCH_COUNT ?? 300);
const CONCURRENCY = 16;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

async function measure(sqlitePragmas: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'matterflow-devdb-'));
  const server = await startDevServer({
    cli: temporalCliPath(),
    dbFile: join(dir, 'temporal.db'),
    sqlitePragmas,
    port: await freePort(),
    uiPort: null,
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection: native,
    taskQueue: 'pragmas',
    workflowsPath: fileURLToPath(new URL('./workflows/empty.ts', import.meta.url)),
  });
  const running = worker.run();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < COUNT; i = next++) {
        const t = performance.now();
        await client.workflow.execute('emptyWorkflow', {
          taskQueue: 'pragmas',
          workflowId: `p-${randomUUID()}`,
        });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  worker.shutdown();
  await running;
  await native.close();
  await connection.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    perSecond: COUNT / seconds,
    p50Ms: latencies[Math.floor(0.5 * latencies.length)]!,
    p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))]!,
  };
}

const defaults = await measure([]);
const tuned = await measure(FILE_PRAGMAS);
const result = {
  benchmark: 'file-backed dev server: SQLite defaults vs FILE_PRAGMAS',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model },
  parameters: { count: COUNT, concurrency: CONCURRENCY, pragmas: FILE_PRAGMAS },
  defaults,
  tuned,
  ratio: tuned.perSecond / defaults.perSecond,
};
mkdirSync(RESULTS, { recursive: true });
writeFileSync(`${RESULTS}dev-server-pragmas.json`, `${JSON.stringify(result, null, 2)}\n`);
const f = (n: number) => n.toFixed(1);
writeFileSync(
  `${RESULTS}dev-server-pragmas.md`,
  `# File-backed dev server pragmas (${result.at})

${result.machine.cpus} × ${result.machine.cpuModel}. ${COUNT} empty workflows started and completed, ${CONCURRENCY} concurrent.

| SQLite settings | per second | p50 ms | p99 ms |
| --- | ---: | ---: | ---: |
| defaults | ${f(defaults.perSecond)} | ${f(defaults.p50Ms)} | ${f(defaults.p99Ms)} |
| ${FILE_PRAGMAS.join(', ')} | ${f(tuned.perSecond)} | ${f(tuned.p50Ms)} | ${f(tuned.p99Ms)} |

Ratio (tuned / defaults): **${result.ratio.toFixed(2)}**
`,
);
process.stdout.write(`${readFileSync(`${RESULTS}dev-server-pragmas.md`, 'utf8')}\n`);
