import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Sql } from '../db/client.js';
import { processRegistry } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's registry, for parts of the same process (the callback dispatcher) to count in. */
    metrics: Registry;
  }
}

/** Per-app registry, so tests that build several apps never collide on metric names. */
export function installMetrics(app: FastifyInstance, sql: Sql): Registry {
  const registry = processRegistry();
  // Counted in the database on scrape (an index on status serves it), so every replica tells the same truth.
  new Gauge({
    name: 'matterflow_matters_open',
    help: 'Matters open now',
    registers: [registry],
    async collect() {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from matters where status = 'open'`;
      this.set(row?.n ?? 0);
    },
  });
  // Read from the table, so it is right whichever worker delivers: a growing depth means a source is down.
  new Gauge({
    name: 'matterflow_callback_outbox_depth',
    help: 'Callbacks to source systems not yet acknowledged (pending) or given up (failed)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await sql<{ status: string; n: number }[]>`
        select status, count(*)::int as n from callback_outbox where status in ('pending', 'failed') group by status`;
      this.reset();
      for (const status of ['pending', 'failed']) {
        this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
      }
    },
  });
  const duration = new Histogram({
    name: 'matterflow_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  // Open without a token, as the worker's own /metrics port is: Prometheus scrapes carry none, and the text
  // is counts by route template, status and channel, never a matter, a person or a source. The network
  // keeps it from outside callers (deployments do not route /metrics through their public proxy).
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  app.decorate('metrics', registry);
  return registry;
}
