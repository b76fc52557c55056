/** Every line a delivery activity writes names the matter, so ops can follow one matter through the logs. */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeliverNoticeInput } from '../../src/activities/contracts.js';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { workerMetrics } from '../../src/metrics.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { assignmentNotice, openMatter } from '../support/matter-state.js';
import { allowingOnly } from '../support/outbound.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let sql: Sql;
let receiver: WebhookReceiver;

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
  receiver = await new WebhookReceiver(newSecret()).start();
});
afterAll(async () => {
  await receiver.stop();
  await sql.end({ timeout: 5 });
});

/** A pino logger whose JSON lines land in `lines`. */
function capturedLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

async function noticeFor(handlerId: string): Promise<DeliverNoticeInput> {
  await insertHandler(sql, {
    id: handlerId,
    name: 'Logged',
    supervisorId: null,
    timezone: 'UTC',
    locale: 'en',
    quietHours: null,
    reminderCaps: null,
    channels: [{ type: 'webhook', address: receiver.addressFor(handlerId), settings: {} }],
  });
  const state = openMatter({
    id: randomUUID(),
    externalId: randomUUID(),
    handlerId,
    createdAt: new Date().toISOString(),
  });
  const workflowId = `matter:logs:${state.externalId}`;
  await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
  return assignmentNotice(workflowId, state);
}

describe('delivery logs and counters', () => {
  it('when a notice is delivered, then its log line carries the matter id, workflow id and seq, and the channel is counted', async () => {
    const { log, lines } = capturedLogger();
    const registry = new Registry();
    const { deliverNotice } = createActivities({
      sql,
      channels: channelRegistry([
        webhookChannel({
          defaultSecret: receiver.secret,
          timeoutMs: 2000,
          outbound: allowingOnly(receiver.url),
        }),
      ]),
      publicBaseUrl: 'https://matterflow.example',
      linkSecret: newSecret(48),
      actionLinkTtlMs: 86_400_000,
      reminderCaps: { perHour: 100, perDay: 100 },
      foldReminder: async () => {},
      log,
      metrics: workerMetrics(registry),
    });
    const notice = await noticeFor(`log-${randomUUID().slice(0, 8)}`);
    const env = new MockActivityEnvironment({
      attempt: 1,
      workflowExecution: { workflowId: notice.workflowId, runId: randomUUID() },
    });

    expect(await env.run(deliverNotice, notice)).toBe('delivered');

    const delivered = lines.find((l) => l.msg === 'notice delivered');
    expect(delivered, `no "notice delivered" line among ${JSON.stringify(lines)}`).toMatchObject({
      matterId: notice.state.id,
      workflowId: notice.workflowId,
      seq: 1,
      channel: 'webhook',
      type: 'matter.assigned',
    });
    expect(await registry.getSingleMetricAsString('matterflow_reminders_sent_total')).toContain(
      'matterflow_reminders_sent_total{channel="webhook"} 1',
    );
  });
});
