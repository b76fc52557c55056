import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult, LoadSpec } from '../support/load-client.js';
import { createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { sized } from './soak.js';

/**
 * A steady load at half of what the API was just measured to take at most, held for RUN_S: no answer
 * may be a 5xx, a 429, an error or a timeout, and the rate must hold. The mix is a handler's inbox
 * (GET) three times for each matter a source pushes (POST), each push starting a workflow that the
 * stack's worker runs meanwhile.
 */

const PROBE_S = 10;
const WARMUP_S = 3;
const RUN_S = sized(60, 600);
const CONNECTIONS = 10;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACT = fileURLToPath(new URL('../artifacts/load.json', import.meta.url));
const P = `load${randomUUID().slice(0, 6)}`;
const SOURCE = `${P}-src`;

let stack: TestStack;
let spec: Omit<LoadSpec, 'seconds' | 'prefix'>;

beforeAll(async () => {
  stack = await startStack();
  const handler = await createHandler(stack);
  // The source has no rateLimitPerMinute: the per-source limiter lets it through, so what is measured
  // is the API, and a 429 here would be a finding.
  const sourceToken = await issueToken(stack, SOURCE, 'source');
  spec = {
    url: stack.baseUrl,
    connections: CONNECTIONS,
    handlerId: handler.id,
    handlerToken: handler.token,
    source: SOURCE,
    sourceToken,
  };
});

afterAll(async () => {
  await stack?.close();
});

const run = promisify(execFile);

async function load(extra: Pick<LoadSpec, 'seconds' | 'prefix' | 'overallRate' | 'warmupSeconds'>) {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'test/support/load-client.ts', JSON.stringify({ ...spec, ...extra })],
    { cwd: ROOT, timeout: (extra.seconds + (extra.warmupSeconds ?? 0) + 60) * 1000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;
}

const pushedUnder = async (prefix: string) => {
  const [row] = await stack.sql<{ n: number }[]>`
    select count(*)::int as n from matters where source = ${SOURCE} and starts_with(external_id, ${`${prefix}-`})`;
  return row!.n;
};

/** Every matter pushed so far has its assignment delivered: the worker's backlog is gone. */
const workerCaughtUp = async () => {
  const [row] = await stack.sql<{ waiting: number }[]>`
    select count(*)::int as waiting from matters m
    where m.source = ${SOURCE} and not exists
      (select 1 from notifications n where n.matter_id = m.id and n.type = 'matter.assigned' and n.status = 'delivered')`;
  return row!.waiting === 0;
};

const count5xx = (r: LoadResult) =>
  Object.entries(r.byStatus).reduce((sum, [status, n]) => (Number(status) >= 500 ? sum + n : sum), 0);

describe('under a steady load at half the measured maximum', () => {
  it(
    `answers every request within the timeout, without a 5xx, a 429 or an error, for ${RUN_S} s`,
    async () => {
      const probe = await load({ seconds: PROBE_S, prefix: `${P}-probe`, warmupSeconds: WARMUP_S });
      // The probe's pushes leave workflows behind: the measured run starts from a quiet worker.
      await eventually(workerCaughtUp, "the worker through the probe's matters", 120_000);
      const target = Math.max(1, Math.floor(probe.rate / 2));
      const steady = await load({ seconds: RUN_S, prefix: `${P}-run`, overallRate: target });
      const pushed = await pushedUnder(`${P}-run`);

      const report = {
        at: new Date().toISOString(),
        mix: { inboxGetPerMatterPost: 3 },
        connections: CONNECTIONS,
        probe: { ...probe, fivexx: count5xx(probe) },
        run: { ...steady, targetRate: target, fivexx: count5xx(steady), mattersPushed: pushed },
      };
      writeFileSync(ARTIFACT, `${JSON.stringify(report, null, 2)}\n`);
      console.info(
        `load: max ${probe.rate.toFixed(1)} req/s (p50 ${probe.p50Ms} ms, p99 ${probe.p99Ms} ms); ` +
          `held ${steady.rate.toFixed(1)} req/s of ${target} for ${steady.seconds} s: ` +
          `p50 ${steady.p50Ms} ms, p99 ${steady.p99Ms} ms, ${steady.requests} requests, ${pushed} matters pushed`,
      );

      expect(steady.errors).toBe(0);
      expect(steady.timeouts).toBe(0);
      expect(count5xx(steady)).toBe(0);
      expect(steady.byStatus['429'] ?? 0).toBe(0);
      expect(steady.non2xx).toBe(0);
      // The rate was held: the API kept up with half of its own maximum.
      expect(steady.rate).toBeGreaterThanOrEqual(target * 0.9);
      // Every acknowledged push is a matter in Postgres; beyond those, only pushes still in flight when the run
      // ended (at most one per connection), whose answers autocannon no longer counts.
      const acknowledged = steady.byStatus['201'] ?? 0;
      expect(pushed).toBeGreaterThanOrEqual(acknowledged);
      expect(pushed - acknowledged).toBeLessThanOrEqual(CONNECTIONS);
    },
    (PROBE_S + WARMUP_S + RUN_S) * 1000 + 300_000,
  );
});
