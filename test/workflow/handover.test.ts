/**
 * Continue-as-new waits for Update handlers still running: an Update that lands as a matter's run hands over to a
 * fresh one is finished by the old run and carried over, not lost.
 *
 * The time-skipping test server suggests continue-as-new once a history passes about 4,000 events. The run
 * looks for the suggestion only when its loop wakes; with its reminders all sent, only a modify wakes it, and
 * a modify marks the plan stale before it yields. So once the suggestion is on record, the next modify starts
 * the handover while it is still recording its event, by construction rather than timing; a second modify is
 * sent meanwhile.
 */
import { WorkflowUpdateStage } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { modifyUpdate, stateQuery } from '../../src/workflows/messages.js';
import { type MatterRun, useMatterServer } from '../support/matter-run.js';

const MINUTE = 60_000;
/** Reminders enough to bring the history near the server's suggestion (about 16 events each), not past it. */
const REMINDERS = 200;

const { withMatter } = useMatterServer();

/** Two modifies in flight together: the second is accepted while the first is held recording its event. */
async function modifyPair(run: MatterRun, pair: number) {
  const release = run.holdRecords();
  const retitle = await run.handle.startUpdate(modifyUpdate, {
    args: [{ actorId: 'mgr-1', reason: 'retitle', title: `Approve loan 42 (v${pair})` }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  const detail = await run.handle.startUpdate(modifyUpdate, {
    args: [{ actorId: 'mgr-1', reason: 'detail', details: `note ${pair}` }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  release();
  return Promise.all([retitle.result(), detail.result()]);
}

describe('continue-as-new of a matter', { timeout: 300_000 }, () => {
  it('waits for Updates in flight at the handover: the old run finishes each one it accepted, the new run carries them', async () => {
    await withMatter({ rule: { every: 'PT1M', maxCount: REMINDERS } }, async (run) => {
      const firstRun = (await run.handle.describe()).runId;
      const old = run.handle.client.getHandle(run.handle.workflowId, firstRun);
      const oldEvents = async () => (await old.fetchHistory()).events ?? [];
      const suggested = async () =>
        (await oldEvents()).some((e) => e.workflowTaskStartedEventAttributes?.suggestContinueAsNew);
      // Small steps keep the test server's clock from running ahead of the run, which would fold reminders.
      for (let m = 0; m <= REMINDERS; m += 50) await run.sleep(50 * MINUTE);
      await expect.poll(async () => (await run.handle.query(stateQuery)).remindersSent).toBe(REMINDERS);
      expect((await run.handle.describe()).runId, 'the reminders alone do not hand over').toBe(firstRun);

      const seqs: number[] = [];
      let pair = 0;
      while ((await run.handle.describe()).runId === firstRun) {
        pair += 1;
        expect(pair, 'the run never handed over').toBeLessThan(60);
        const handingOver = await suggested();
        seqs.push(...(await modifyPair(run, pair)).map((r) => r.seq));
        if (handingOver) {
          await expect
            .poll(async () => (await run.handle.describe()).runId, { timeout: 10_000 })
            .not.toBe(firstRun);
        }
      }

      const events = await oldEvents();
      expect(
        events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes,
        'the old run ends handing over',
      ).toBeTruthy();
      const accepted = events.map(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId,
      );
      const completed = events.map((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId);
      const ids = (list: (string | null | undefined)[]) => list.filter((id): id is string => !!id);
      expect(ids(completed).sort()).toEqual(ids(accepted).sort());
      const suggestedAt = events.findIndex((e) => e.workflowTaskStartedEventAttributes?.suggestContinueAsNew);
      // The first modify woken by the suggestion began the handover while its pair was still running.
      expect(ids(accepted.slice(suggestedAt)), 'Updates accepted once the run was to hand over').not.toEqual(
        [],
      );

      const modified = run.events.filter((e) => e.type === 'matter.modified');
      expect(modified.map((e) => e.seq)).toEqual(seqs);
      expect(await run.handle.query(stateQuery)).toMatchObject({
        status: 'open',
        title: `Approve loan 42 (v${pair})`,
        details: `note ${pair}`,
        seq: run.events.length,
        remindersSent: REMINDERS,
      });
    });
  });
});
