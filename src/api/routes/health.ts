import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Client } from '@temporalio/client';
import type { Sql } from '../../db/client.js';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await withTimeout(check());
    return 'ok';
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

const Readiness = Type.Object({
  status: Type.String(),
  checks: Type.Object({ database: Type.String(), temporal: Type.String() }),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; temporal: Client }> = async (
  app,
  { sql, temporal },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: the database and Temporal answer',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const [database, engine] = await Promise.all([
        probe(() => sql`select 1`),
        probe(() => temporal.workflowService.getSystemInfo({})),
      ]);
      const ready = database === 'ok' && engine === 'ok';
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks: { database, temporal: engine } });
    },
  );
};
