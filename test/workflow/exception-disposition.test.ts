/**
 * What an exception type's disposition does to `matterWorkflow`, over days of skipped time on the
 * time-skipping test server, with fake activities (see matter-workflow.test.ts for the server's quirks).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { RecordEventInput } from '../../src/activities/contracts.js';
import { fileExceptionUpdate, filingUpdate } from '../../src/workflows/messages.js';
import { type MatterRun, useMatterServer } from '../support/matter-run.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Timers fire at the workflow task's time, a little after the planned instant. */
const SKEW = 5_000;

const server = useMatterServer();

/** A daily matter for alice, acted on once it has reached her, as a handler would. */
const withMatter = <T>(body: (run: MatterRun) => Promise<T>): Promise<T> =>
  server.withMatter({ rule: { every: 'P1D' } }, async (run) => {
    await vi.waitFor(() => expect(run.events[0]?.type).toBe('matter.assigned'), {
      timeout: 10_000,
      interval: 20,
    });
    return body(run);
  });

const offsetsOf = (events: RecordEventInput[], type: string, originMs: number) =>
  events.filter((e) => e.type === type).map((e) => Date.parse(e.occurredAt) - originMs);

function expectNear(actual: number[], expected: number[]): void {
  expect(actual.length, `at ${JSON.stringify(actual.map((ms) => ms / HOUR))} hours`).toBe(expected.length);
  actual.forEach((ms, i) => {
    expect(Math.abs(ms - expected[i]!), `#${i} off by ${ms - expected[i]!} ms`).toBeLessThanOrEqual(SKEW);
  });
}

const filing = (onFiling: 'pause_reminders' | 'return_to_source' | 'leave_open') => ({
  actorId: 'alice',
  eventType: 'BLOCKED',
  description: 'waiting on the branch',
  filingId: randomUUID(),
  onFiling,
  subscribers: { handlerIds: ['risk'], groupIds: [], webhooks: ['https://risk.example/hook'] },
});

describe('exception dispositions in matterWorkflow', { timeout: 120_000 }, () => {
  it('pause_reminders: no reminder while the filing is open; once closed, the daily clock goes on where it stood, without a burst', async () => {
    await withMatter(async ({ handle, createdAtMs, sleep, events, notices }) => {
      await sleep(1.5 * DAY);
      const filed = await handle.executeUpdate(fileExceptionUpdate, { args: [filing('pause_reminders')] });
      expect(filed.state.nextNoticeAt, 'nothing planned while paused').toBeNull();
      const told = () => notices.find((n) => n.seq === filed.seq && n.recipient.kind === 'subscribers');
      await vi.waitFor(() => expect(told()).toBeDefined(), { timeout: 10_000, interval: 20 });
      expect(told()!.recipient).toEqual({
        kind: 'subscribers',
        handlerIds: ['risk'],
        groupIds: [],
        webhooks: ['https://risk.example/hook'],
      });

      await sleep(3 * DAY);
      expectNear(offsetsOf(events, 'matter.reminder', createdAtMs), [1 * DAY]);

      const acked = await handle.executeUpdate(filingUpdate, {
        args: [{ actorId: 'risk', filingId: 'f', filingSeq: filed.seq, step: 'acknowledged', note: 'seen' }],
      });
      expect(acked.state.nextNoticeAt, 'acknowledging does not resume reminders').toBeNull();
      const closed = await handle.executeUpdate(filingUpdate, {
        args: [{ actorId: 'risk', filingId: 'f', filingSeq: filed.seq, step: 'closed', note: 'answered' }],
      });
      // Paused 1.5d → 4.5d: the reminder due at 2d (half a day after the pause began) comes half a day after it ends.
      expect(Date.parse(closed.state.nextNoticeAt!) - createdAtMs).toBeCloseTo(5 * DAY, -4);

      await sleep(1.6 * DAY);
      expectNear(offsetsOf(events, 'matter.reminder', createdAtMs), [1 * DAY, 5 * DAY, 6 * DAY]);
      expect(
        events.filter((e) => e.type.startsWith('exception.')).map((e) => [e.type, e.data.note ?? null]),
      ).toEqual([
        ['exception.filed', null],
        ['exception.acknowledged', 'seen'],
        ['exception.closed', 'answered'],
      ]);
    });
  });

  it('return_to_source: the matter ends as returned, recorded after the filing, and its handler is told', async () => {
    await withMatter(async ({ handle, events, notices, result }) => {
      const filed = await handle.executeUpdate(fileExceptionUpdate, { args: [filing('return_to_source')] });
      expect(filed.state.status).toBe('returned');
      expect((await result()).status).toBe('returned');
      expect(events.map((e) => e.type)).toEqual(['matter.assigned', 'exception.filed', 'matter.returned']);
      const told = () => notices.find((n) => n.type === 'matter.returned');
      await vi.waitFor(() => expect(told()).toBeDefined(), { timeout: 10_000, interval: 20 });
      expect(told()!.recipient).toEqual({
        kind: 'handler',
        handlerId: 'alice',
      });
    });
  });

  it('a closed filing cannot be closed again', async () => {
    await withMatter(async ({ handle }) => {
      const filed = await handle.executeUpdate(fileExceptionUpdate, { args: [filing('leave_open')] });
      const close = {
        actorId: 'risk',
        filingId: 'f',
        filingSeq: filed.seq,
        step: 'closed' as const,
        note: 'done',
      };
      await handle.executeUpdate(filingUpdate, { args: [close] });
      await expect(handle.executeUpdate(filingUpdate, { args: [close] })).rejects.toMatchObject({
        cause: { type: 'FILING_ALREADY_CLOSED' },
      });
    });
  });
});
