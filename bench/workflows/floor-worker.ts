import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { startMetricsServer } from '../../src/metrics.js';
import type { TimerActivities } from './timer.js';

/**
 * A bench's floor worker in a process of its own, as `bench/support/worker-process.ts` runs matterflow's
 * worker.ts, so floor and matterflow have the same topology. Env:
 * - TEMPORAL_ADDRESS, TASK_QUEUE: where it polls;
 * - FLOOR_WORKFLOWS: `empty` (./empty.ts) or `timer` (./timer.ts, whose activity POSTs to
 *   FLOOR_RECEIVER_URL/floor);
 * - HOST, WORKER_METRICS_PORT: /healthz, 200 while it runs; TEMPORAL_METRICS_ADDRESS: the core's metrics.
 * SIGTERM drains it and ends the process.
 */
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const workflows = env('FLOOR_WORKFLOWS');
if (workflows !== 'empty' && workflows !== 'timer') throw new Error('FLOOR_WORKFLOWS: empty or timer');

Runtime.install({
  // Signals are this script's: it drains the worker itself. Warnings only, as matterflow's bench worker logs.
  shutdownSignals: [],
  logger: new DefaultLogger('WARN'),
  telemetryOptions: {
    metrics: { prometheus: { bindAddress: env('TEMPORAL_METRICS_ADDRESS'), countersTotalSuffix: true } },
  },
});

function timerActivities(receiverUrl: string): TimerActivities {
  return {
    async fired(id, plannedAt) {
      const res = await fetch(`${receiverUrl}/floor`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, plannedAt }),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`receiver answered ${res.status}`);
    },
  };
}

const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const worker = await Worker.create({
  connection,
  taskQueue: env('TASK_QUEUE'),
  workflowsPath: fileURLToPath(new URL(`./${workflows}.ts`, import.meta.url)),
  ...(workflows === 'timer' ? { activities: timerActivities(env('FLOOR_RECEIVER_URL')) } : {}),
});
const done = worker.run();
const server = await startMetricsServer(new Registry(), {
  host: env('HOST'),
  port: Number(env('WORKER_METRICS_PORT')),
  healthy: () => worker.getState() === 'RUNNING',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
}
let exitCode = 0;
try {
  await done;
} catch (err) {
  process.stderr.write(`floor worker stopped with an error: ${String(err)}\n`);
  exitCode = 1;
}
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
await connection.close();
process.exit(exitCode);
