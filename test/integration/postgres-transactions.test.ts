import postgres from 'postgres';
import { describe, expect, it } from 'vitest';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// postgres.js 3.4.9 could send BEGIN without reserving its connection when the pipeline filled up
// (porsager/postgres#823); patches/postgres+3.4.9.patch fixes it. max_pipeline 0 makes every BEGIN hit it.
describe('postgres client transactions', () => {
  it('reserve their connection even when BEGIN fills the pipeline, so concurrent transactions never share one', async () => {
    // max_pipeline is read by the client though its types do not list it.
    const options = {
      max: 2,
      max_pipeline: 0,
      onnotice: () => {},
      connection: { application_name: 'matterflow-tx-test' },
    };
    const sql = postgres(url, options);
    try {
      const work = Array.from({ length: 80 }, (_, k) =>
        k % 4 === 0
          ? sql.begin(async (tx) => {
              const [a] = await tx<{ id: string }[]>`select txid_current()::text as id`;
              await tx`select pg_sleep(0.001)`;
              const [b] = await tx<{ id: string }[]>`select txid_current()::text as id`;
              return a!.id === b!.id;
            })
          : sql`select pg_sleep(0.001)`.then(() => true),
      );
      const results = await Promise.allSettled(work);
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toEqual([]);
      expect(results.every((r) => r.status === 'fulfilled' && r.value === true)).toBe(true);
      const [idle] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where application_name = 'matterflow-tx-test' and state = 'idle in transaction'`;
      expect(idle!.n).toBe(0);
    } finally {
      await sql.end({ timeout: 2 });
    }
  });
});
