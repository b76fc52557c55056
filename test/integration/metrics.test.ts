/** `/metrics` through the real stack: what ops watch moves when matters are created, acted on and delivered. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let sourceToken: string;

beforeAll(async () => {
  stack = await startStack();
  sourceToken = await issueToken(stack, 'metrics', 'source');
});
afterAll(async () => stack?.close());

async function scrape(): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one series, e.g. `name{label="x"}`; 0 when it has not been seen yet. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function pushMatter(handlerId: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: 'metrics', externalId: randomUUID(), title: 'Sign the audit report', handlerId },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

describe('/metrics', () => {
  it('when a matter is created and completed, then the created and completed counters, the open gauge and the complete latency move', async () => {
    const before = await scrape();
    const handler = await createHandler(stack);
    const id = await pushMatter(handler.id);
    await stack.receiver.waitFor(
      (h) => h.body.matter.id === id && h.body.type === 'matter.assigned',
      'the assignment',
    );
    const open = seriesValue(await scrape(), 'matterflow_matters_open');
    expect(open, 'the open gauge counts at least this matter').toBeGreaterThanOrEqual(1);

    const done = await call(stack, 'POST', `/v1/matters/${id}/complete`, {
      token: handler.token,
      body: { comment: 'signed' },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);

    const after = await eventually(async () => {
      const text = await scrape();
      return seriesValue(text, 'matterflow_matters_completed_total') >
        seriesValue(before, 'matterflow_matters_completed_total')
        ? text
        : undefined;
    }, 'matterflow_matters_completed_total to count the completion');
    expect(seriesValue(after, 'matterflow_matters_created_total')).toBeGreaterThan(
      seriesValue(before, 'matterflow_matters_created_total'),
    );
    expect(
      seriesValue(after, 'matterflow_action_latency_seconds_count{action="complete"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(seriesValue(after, 'matterflow_reminders_sent_total{channel="webhook"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(after).toContain('matterflow_callback_outbox_depth{status="pending"}');
    expect(after, 'the process default metrics are there too').toContain('process_cpu_seconds_total');
  });

  it('when a webhook refuses a notice for good, then matterflow_deliveries_failed_total{channel="webhook"} counts it', async () => {
    const series = 'matterflow_deliveries_failed_total{channel="webhook"}';
    const before = seriesValue(await scrape(), series);
    const handler = await createHandler(stack);
    // A 4xx is a refusal no retry can mend: the notice is failed at its first attempt.
    stack.receiver.respond = (hook) => (hook.path === `/hooks/${handler.id}` ? 410 : 200);
    await pushMatter(handler.id);
    await eventually(
      async () => seriesValue(await scrape(), series) > before,
      `${series} to count the refused notice`,
    );
    expect(
      seriesValue(await scrape(), 'matterflow_delivery_attempts_failed_total{channel="webhook"}'),
    ).toBeGreaterThan(0);
  });
});
