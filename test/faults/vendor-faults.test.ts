/**
 * Receivers that fail: answering 500, stalling past the sender's timeout, or dropping the connection.
 * Every notice must end delivered, or, at a receiver that always fails, be marked failed once its retries
 * are spent and go out on the handler's next channel; no receiver acts on one twice; the delivery log in
 * Postgres agrees with what the receivers saw.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_MAX_ATTEMPTS } from '../../src/activities/contracts.js';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { newSecret } from '../../src/security/secret-hash.js';
import {
  always,
  everyOther,
  FAULT_KINDS,
  type FaultKind,
  FaultyReceiver,
  type FaultyRequest,
} from '../support/faulty-receiver.js';
import { assignmentNotice, openMatter } from '../support/matter-state.js';
import { allowingOnly } from '../support/outbound.js';
import { call, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { SOAK, sized } from './soak.js';

const MATTERS = sized(100, 2_000);
const MATTERS_PER_HANDLER = 10;
/** The sender's timeout: short, so that a stalled receiver costs little. */
const TIMEOUT_MS = 1_000;
const SECRET = newSecret();
/**
 * Notices driven through their attempts at once. The senders, every receiver and these flows share this
 * process: at 200 flows, beside the crash-after-send soak, it starved past the 1 s timeout, and even the
 * healthy fallback's sends timed out.
 */
const FLOWS = 50;
const TEST_TIMEOUT_MS = SOAK ? 2_000_000 : 90_000;

const flaky = Object.fromEntries(
  FAULT_KINDS.map((kind) => [kind, new FaultyReceiver(SECRET, everyOther(kind))]),
) as Record<FaultKind, FaultyReceiver>;
const broken = Object.fromEntries(
  FAULT_KINDS.map((kind) => [kind, new FaultyReceiver(SECRET, always(kind))]),
) as Record<FaultKind, FaultyReceiver>;
const fallback = new FaultyReceiver(SECRET, () => null);
const receivers = [...Object.values(flaky), ...Object.values(broken), fallback];

let stack: TestStack;

beforeAll(async () => {
  await Promise.all(receivers.map((r) => r.start()));
  stack = await startStack({
    env: {
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      OUTBOUND_ALLOW_HOSTS: receivers.map((r) => new URL(r.url).host).join(','),
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await Promise.all(receivers.map((r) => r.stop()));
});

/** Runs `work` over `items`, `limit` at a time: a batch at once would only queue at the API. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Handlers (ids under `prefix`) whose first channel is `first` and second the healthy fallback. */
function handlerIds(prefix: string): string[] {
  return range(Math.ceil(MATTERS / MATTERS_PER_HANDLER)).map((i) => `${prefix}-${i}`);
}

interface DeliveryRow {
  key: string;
  matterId: string;
  address: string;
  status: string;
  attempts: number;
  /** `ok` of each logged attempt, in attempt order. */
  oks: boolean[];
  /** The error of each logged attempt (null for a success), in attempt order. */
  errors: (string | null)[];
}

async function deliveryLog(matterIds: string[]): Promise<DeliveryRow[]> {
  return [
    ...(await stack.sql<DeliveryRow[]>`
      select n.idempotency_key as key, n.matter_id as "matterId", n.address, n.status, n.attempts,
        coalesce(array_agg(a.ok order by a.attempt) filter (where a.ok is not null), '{}') as oks,
        coalesce(array_agg(a.error order by a.attempt) filter (where a.ok is not null), '{}') as errors
      from notifications n left join notification_attempts a on a.notification_id = n.id
      where n.matter_id = any(${matterIds}::uuid[])
      group by n.id order by n.id`),
  ];
}

const TIMEOUT = 'request failed: The operation was aborted due to timeout';
const TIMED_OUT = new RegExp(`^${TIMEOUT}$`);

/** What the sender logs for an attempt at each broken receiver: its fault, or a timeout of its own. */
const SENDER_ERRORS: Record<FaultKind, RegExp> = {
  '500': new RegExp(`^(receiver answered 500|${TIMEOUT})$`),
  reset: new RegExp(`^(request failed: fetch failed|${TIMEOUT})$`),
  timeout: TIMED_OUT,
};

const requestsUnder = (receiver: FaultyReceiver, prefix: string) =>
  receiver.requests.filter((r) => r.path.startsWith(`/hooks/${prefix}-`));

/**
 * What the receivers' logs say, checked the same way for every scenario: each request's key header is the
 * key in its signed body; one message (matter, event, address) travels under one key only, its resends
 * identical but for their send time; counts what was sent again after a 200 and what the receiver's dedupe
 * absorbed.
 */
function tally(requests: FaultyRequest[]) {
  for (const r of requests) {
    expect(r.signatureValid).toBe(true);
    expect(r.key).toBe(r.body.idempotencyKey);
  }
  const keysPerMessage = new Map<string, Set<string>>();
  const byKey = new Map<string, FaultyRequest[]>();
  for (const r of requests) {
    const message = `${r.body.matter.id} ${r.body.type} ${r.path}`;
    keysPerMessage.set(message, (keysPerMessage.get(message) ?? new Set()).add(r.key));
    byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  }
  // A resend is the same message: only its send time differs.
  for (const rs of byKey.values()) {
    expect(new Set(rs.map((r) => JSON.stringify({ ...r.body, sentAt: null }))).size).toBe(1);
  }
  const extraKeys = [...keysPerMessage.values()].reduce((n, keys) => n + keys.size - 1, 0);
  const sentAfterOk = [...byKey.values()].reduce(
    (n, rs) => n + rs.slice(rs.findIndex((r) => r.outcome === 'ok') + 1 || rs.length).length,
    0,
  );
  return {
    requests: requests.length,
    faults: requests.filter((r) => r.outcome !== 'ok').length,
    messages: keysPerMessage.size,
    extraKeys,
    sentAfterOk,
    absorbed: requests.filter((r) => r.absorbed).length,
    byKey,
  };
}

// The three kinds run side by side: each has its own receiver and handlers.
describe('a receiver that fails every other request', () => {
  it.concurrent.each(FAULT_KINDS)(
    'fault %s: every notice is delivered on the first channel at its second attempt, acted on once, logged as two attempts',
    async (kind) => {
      const receiver = flaky[kind];
      const prefix = `vf${kind}${randomUUID().slice(0, 6)}`;
      const handlers = handlerIds(prefix);
      await inParallel(handlers, 4, async (id) => {
        const res = await call(stack, 'POST', '/v1/handlers', {
          token: stack.adminToken,
          body: {
            id,
            name: `Handler ${id}`,
            channels: [
              { type: 'webhook', address: receiver.addressFor(id) },
              { type: 'webhook', address: fallback.addressFor(id) },
            ],
          },
        });
        expect(res.status).toBe(201);
      });
      const source = `${prefix}-src`;
      const token = await issueToken(stack, source, 'source');
      const matterIds: string[] = [];
      await inParallel(range(MATTERS), 8, async (i) => {
        const res = await call(stack, 'POST', '/v1/matters', {
          token,
          body: {
            source,
            externalId: `m-${i}`,
            title: `Reconcile ledger ${i}`,
            handlerId: handlers[i % handlers.length],
            // No reminder falls due while the test runs: the assignment notice is the one message.
            reminderRule: { firstAfter: 'P1D', every: 'P1D' },
          },
        });
        expect(res.status).toBe(201);
        matterIds.push(res.body.id);
      });

      const log = await eventually(
        async () => {
          const rows = await deliveryLog(matterIds);
          return rows.length === MATTERS && rows.every((r) => r.status !== 'pending') && rows;
        },
        `${MATTERS} notices settled`,
        SOAK ? 1_800_000 : 60_000,
      );

      // Postgres: one notice per matter, on the first channel, delivered at the second of two attempts.
      expect(log.filter((r) => r.status === 'delivered')).toHaveLength(MATTERS);
      expect(new Set(log.map((r) => r.matterId)).size).toBe(MATTERS);
      for (const row of log) {
        expect(row.address.startsWith(`${receiver.url}/`)).toBe(true);
        expect(row.attempts).toBe(2);
        expect(row.oks).toEqual([false, true]);
      }
      const [events] = await stack.sql<{ rows: number; distinct: number; assigned: number }[]>`
        select count(*)::int as rows, count(distinct (matter_id, seq))::int as distinct,
          count(*) filter (where type = 'matter.assigned')::int as assigned
        from matter_events where matter_id = any(${matterIds}::uuid[])`;
      expect(events).toEqual({ rows: MATTERS, distinct: MATTERS, assigned: MATTERS });

      // The receiver: each message twice under one key, first the fault, then a 200; nothing after it.
      const seen = tally(requestsUnder(receiver, prefix));
      expect(seen.messages).toBe(MATTERS);
      expect(seen.extraKeys).toBe(0);
      expect(seen.sentAfterOk).toBe(0);
      expect([...seen.byKey.keys()].sort()).toEqual(log.map((r) => r.key).sort());
      for (const rs of seen.byKey.values()) expect(rs.map((r) => r.outcome)).toEqual([kind, 'ok']);
      // Only a stalled receiver had acted already: its dedupe by key absorbs the resend.
      expect(seen.absorbed).toBe(kind === 'timeout' ? MATTERS : 0);
      expect(requestsUnder(fallback, prefix)).toHaveLength(0);

      console.info(
        `vendor fault ${kind} every other request: ${MATTERS} notices, ${seen.requests} sends, ` +
          `${seen.faults} faults injected, 0 lost, ${seen.extraKeys + seen.sentAfterOk} duplicated, ` +
          `${seen.absorbed} resends absorbed by key`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a receiver that always fails', () => {
  // The workflow's retry policy backs off for over four minutes before the last attempt, so each attempt
  // Temporal would make is run here in order (the real activity, Postgres and receivers).
  it(
    'marks each notice failed at its last attempt, sends it on the next channel once, and stops',
    async () => {
      const prefix = `vfb${randomUUID().slice(0, 6)}`;
      const handlers = handlerIds(prefix);
      const kindOf = (i: number) => FAULT_KINDS[i % FAULT_KINDS.length]!;
      await inParallel(range(handlers.length), 4, async (i) => {
        const id = handlers[i]!;
        await insertHandler(stack.sql, {
          id,
          name: `Handler ${id}`,
          supervisorId: null,
          timezone: 'UTC',
          locale: 'en',
          quietHours: null,
          reminderCaps: null,
          channels: [broken[kindOf(i)], fallback].map((r) => ({
            type: 'webhook',
            address: r.addressFor(id),
            settings: {},
          })),
        });
      });
      const activities = createActivities({
        sql: stack.sql,
        channels: channelRegistry([
          webhookChannel({
            defaultSecret: SECRET,
            timeoutMs: TIMEOUT_MS,
            outbound: allowingOnly(...receivers.map((r) => r.url)),
          }),
        ]),
        publicBaseUrl: stack.baseUrl,
        linkSecret: newSecret(48),
        actionLinkTtlMs: 86_400_000,
        reminderCaps: { perHour: 100, perDay: 100 },
        foldReminder: async () => {
          throw new Error('an assignment is never held back by a cap');
        },
      });
      const quiet = new DefaultLogger('ERROR');
      const matterIds: string[] = [];
      const outcomes: unknown[] = [];
      await inParallel(range(MATTERS), FLOWS, async (i) => {
        const handlerId = handlers[i % handlers.length]!;
        const state = openMatter({
          id: randomUUID(),
          source: prefix,
          externalId: `m-${i}`,
          handlerId,
          createdAt: new Date().toISOString(),
        });
        const workflowId = `matter:${prefix}:m-${i}`;
        await reserveMatter(stack.sql, { ...state, workflowId, requestHash: 'x' });
        matterIds.push(state.id);
        const notice = assignmentNotice(workflowId, state);
        for (let attempt = 1; attempt <= DELIVERY_MAX_ATTEMPTS; attempt++) {
          // Every attempt but the last fails by design: the SDK's warning for each is noise here.
          const outcome = await new MockActivityEnvironment({ attempt }, { logger: quiet })
            .run(activities.deliverNotice, notice)
            .catch((err: { nonRetryable?: boolean }) => ({ nonRetryable: err.nonRetryable }));
          if (attempt < DELIVERY_MAX_ATTEMPTS) expect(outcome).toEqual({ nonRetryable: false });
          else outcomes.push(outcome);
        }
      });
      expect(outcomes).toEqual(Array(MATTERS).fill('delivered'));

      // Postgres: per matter, the first channel failed after every attempt, the second delivered at once.
      const log = await deliveryLog(matterIds);
      expect(log).toHaveLength(2 * MATTERS);
      const firsts = log.filter((r) => !r.key.endsWith('#1'));
      const seconds = log.filter((r) => r.key.endsWith('#1'));
      expect(firsts.map((r) => r.status)).toEqual(Array(MATTERS).fill('failed'));
      expect(seconds.map((r) => r.status)).toEqual(Array(MATTERS).fill('delivered'));
      for (const r of firsts) expect(r.oks).toEqual(Array(DELIVERY_MAX_ATTEMPTS).fill(false));
      for (const r of seconds) expect(r.oks).toEqual([true]);
      expect(firsts.every((r) => r.attempts === DELIVERY_MAX_ATTEMPTS)).toBe(true);

      // The broken receivers met the attempts under one key per notice. An attempt can time out in the sender
      // before its request is on the wire when this one process (its flows, the senders and every receiver)
      // is starved past the 1 s timeout: Postgres then logs a timeout, and such attempts are counted below.
      const failing = tally(Object.values(broken).flatMap((r) => requestsUnder(r, prefix)));
      expect(failing.extraKeys).toBe(0);
      const firstKeys = new Set(firsts.map((r) => r.key));
      expect([...failing.byKey.keys()].filter((key) => !firstKeys.has(key))).toEqual([]);
      let neverOnTheWire = 0;
      for (const row of firsts) {
        const kind = FAULT_KINDS.find((k) => row.address.startsWith(`${broken[k].url}/`))!;
        for (const error of row.errors) expect(error).toMatch(SENDER_ERRORS[kind]);
        const seen = failing.byKey.get(row.key)?.length ?? 0;
        // An attempt the receiver answered (a 500, a dropped connection) was seen by it.
        const answered = row.errors.filter((e) => !TIMED_OUT.test(e ?? '')).length;
        expect(seen).toBeGreaterThanOrEqual(answered);
        expect(seen).toBeLessThanOrEqual(DELIVERY_MAX_ATTEMPTS);
        neverOnTheWire += DELIVERY_MAX_ATTEMPTS - seen;
      }
      const rescued = tally(requestsUnder(fallback, prefix));
      expect(rescued.requests).toBe(MATTERS);
      expect(rescued.messages).toBe(MATTERS);
      expect([...rescued.byKey.keys()].sort()).toEqual(seconds.map((r) => r.key).sort());
      expect(rescued.absorbed).toBe(0);
      const faults = Object.fromEntries(
        FAULT_KINDS.map((kind) => [kind, requestsUnder(broken[kind], prefix).length]),
      );
      expect(Object.values(faults).reduce((a, b) => a + b, 0)).toBe(
        MATTERS * DELIVERY_MAX_ATTEMPTS - neverOnTheWire,
      );

      console.info(
        `vendor always failing: ${MATTERS} notices, ${failing.requests + rescued.requests} sends, ` +
          `faults injected ${JSON.stringify(faults)}, ${neverOnTheWire} attempts timed out before reaching ` +
          `the receiver, ${MATTERS} escalated to the fallback, 0 lost, ` +
          `${failing.extraKeys + rescued.extraKeys + rescued.sentAfterOk} duplicated`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
