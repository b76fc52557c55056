import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChangeNoticeActivities, ChangeOutcomeNotice } from '../../src/activities/change-notices.js';
import type { DeliveryOutcome } from '../../src/activities/contracts.js';
import { createLogger } from '../../src/logger.js';
import type { ChangeOutcomeInput, changeOutcomeWorkflow } from '../../src/workflows/change-outcome.js';
import { installSdkLogger } from '../../worker.js';

let connection: Connection;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  // The refused deliveries below are expected; the SDK would report each one.
  installSdkLogger(createLogger('error'));
  connection = await Connection.connect({ address: inject('temporalAddress') });
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
});
afterAll(async () => {
  await connection?.close();
  await nativeConnection?.close();
});

/** Runs the workflow on its own task queue, with `deliver` standing in for the activity. */
async function run(input: ChangeOutcomeInput, deliver: (n: ChangeOutcomeNotice) => Promise<DeliveryOutcome>) {
  const taskQueue = `change-outcome-test-${randomUUID()}`;
  const activities: ChangeNoticeActivities = { deliverChangeOutcome: deliver };
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  return worker.runUntil(
    new Client({ connection }).workflow.execute<typeof changeOutcomeWorkflow>('changeOutcomeWorkflow', {
      args: [input],
      taskQueue,
      workflowId: `change-outcome:${input.changeRequestId}`,
    }),
  );
}

describe('changeOutcomeWorkflow', () => {
  it('tells maker and reviewer at the same time, and one undeliverable notice holds back neither the other nor the run', async () => {
    const arrived = new Set<string>();
    let bothArrived = () => {};
    const both = new Promise<void>((resolve) => {
      bothArrived = resolve;
    });
    const deliveries = await run(
      { changeRequestId: randomUUID(), makerId: 'mgr-1', reviewerId: 'rev-1' },
      async (notice) => {
        arrived.add(notice.role);
        if (arrived.size === 2) bothArrived();
        // Each waits for the other: only concurrent deliveries get past this.
        await Promise.race([both, new Promise((r) => setTimeout(r, 5000))]);
        if (arrived.size < 2) throw ApplicationFailure.nonRetryable('deliveries ran one after the other');
        if (notice.role === 'maker') throw ApplicationFailure.nonRetryable('receiver refused it');
        return 'delivered';
      },
    );
    expect(deliveries).toEqual([
      { recipientId: 'mgr-1', role: 'maker', outcome: 'undeliverable' },
      { recipientId: 'rev-1', role: 'reviewer', outcome: 'delivered' },
    ]);
  });

  it('tells only the maker when the request has no reviewer', async () => {
    const told: ChangeOutcomeNotice[] = [];
    const changeRequestId = randomUUID();
    const deliveries = await run({ changeRequestId, makerId: 'mgr-2', reviewerId: null }, async (notice) => {
      told.push(notice);
      return 'no-recipient';
    });
    expect(told).toEqual([{ changeRequestId, recipientId: 'mgr-2', role: 'maker' }]);
    expect(deliveries).toEqual([{ recipientId: 'mgr-2', role: 'maker', outcome: 'no-recipient' }]);
  });
});
