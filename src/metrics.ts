import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, type Metric, Registry } from 'prom-client';

/** A registry with the Node process's default metrics; one per process, shared by API and worker in one. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The metric of that name already on the registry, so parts of one process count in one series. */
function once<M extends Metric>(registry: Registry, name: string, make: (registers: Registry[]) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make([registry]);
}

/**
 * What the worker counts where it happens. Counters per process: each event is recorded once across
 * replicas (its insert is keyed), so `sum()` over the workers' series is the deployment's total.
 */
export interface WorkerMetrics {
  mattersCreated: Counter;
  mattersCompleted: Counter;
  remindersSent: Counter<'channel'>;
  deliveryAttemptsFailed: Counter<'channel'>;
  deliveriesFailed: Counter<'channel'>;
}

export function workerMetrics(registry: Registry): WorkerMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    once(registry, name, (registers) => new Counter<L>({ name, help, labelNames, registers }));
  return {
    mattersCreated: counter(
      'matterflow_matters_created_total',
      'Matters opened (their first event recorded)',
    ),
    mattersCompleted: counter('matterflow_matters_completed_total', 'Matters completed by their handler'),
    remindersSent: counter(
      'matterflow_reminders_sent_total',
      'Notices delivered to people (assignments, reminders, escalations, alerts, digests), by channel',
      ['channel'],
    ),
    deliveryAttemptsFailed: counter(
      'matterflow_delivery_attempts_failed_total',
      'Send attempts a channel refused or could not make; most are retried',
      ['channel'],
    ),
    deliveriesFailed: counter(
      'matterflow_deliveries_failed_total',
      'Notices given up on a channel: refused for good or out of retries',
      ['channel'],
    ),
  };
}

/** Time from an action's request to the matter's workflow accepting or refusing it (the Update round trip). */
export function actionLatency(registry: Registry): Histogram<'action'> {
  const name = 'matterflow_action_latency_seconds';
  return once(
    registry,
    name,
    (registers) =>
      new Histogram({
        name,
        help: "Round trip of a handler's or manager's action through the matter's workflow, by action",
        labelNames: ['action'],
        buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
        registers,
      }),
  );
}

/** A worker on its own serves its metrics and liveness on a bare HTTP server: it has no API to do it. */
export async function startMetricsServer(
  registry: Registry,
  options: { host: string; port: number; healthy: () => boolean },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
    } else if (path === '/healthz') {
      const ok = options.healthy();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'stopping' }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return server;
}
