import { expect } from 'vitest';
import { call, type TestStack } from './stack.js';

/** A manager proposes deleting the matter and a reviewer approves it: the matter's run is cancelled. */
export async function cancelByApprovedDelete(
  stack: TestStack,
  tokens: { manager: string; reviewer: string },
  matterId: string,
  reason: string,
): Promise<void> {
  const proposed = await call(stack, 'POST', '/v1/change-requests', {
    token: tokens.manager,
    body: { kind: 'delete', matterId, reason },
  });
  expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
  const approved = await call(stack, 'POST', `/v1/change-requests/${proposed.body.id}/approve`, {
    token: tokens.reviewer,
    body: { comment: 'checked' },
  });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
}
