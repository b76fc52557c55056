import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  chooseEnglish,
  expectCleanPage,
  expectNoConsoleErrors,
  expectVisible,
  launchBrowser,
  newPerson,
  screenshot,
  signIn,
} from '../support/browser.js';
import { createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

// A real browser against the real stack is slow on a cold CI machine.
const SLOW = 120_000;
const SOURCE = 'web-console-e2e';

let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  // One after the other, so whichever did start is closed below if the other fails.
  stack = await startStack();
  browser = await launchBrowser();
  await issueToken(stack, SOURCE, 'source');
});
// Both close even when a test failed, so no chromium outlives the file.
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the manager console in a real browser', () => {
  it(
    'when a manager proposes a new matter and a reviewer approves it after reading the diff, then it reaches the handler’s inbox',
    async () => {
      const suffix = randomUUID().slice(0, 8);
      const managerToken = await issueToken(stack, `mgr-${suffix}`, 'manager');
      const reviewerToken = await issueToken(stack, `rev-${suffix}`, 'reviewer');
      const handler = await createHandler(stack);
      const title = `Onboard supplier ${suffix}`;
      const manager = await newPerson(browser);
      const reviewer = await newPerson(browser);
      const assignee = await newPerson(browser);
      try {
        await signIn(manager.page, stack.baseUrl, managerToken);
        await chooseEnglish(manager.page);
        await manager.page.goto(`${stack.baseUrl}/console/matters/new`);
        await manager.page.getByLabel(/^source/i).fill(SOURCE);
        await manager.page.getByLabel(/^external id/i).fill(`ext-${suffix}`);
        await manager.page.getByLabel(/^title/i).fill(title);
        await manager.page.getByLabel(/^handler/i).selectOption(handler.id);
        await manager.page.getByLabel(/^reason/i).fill('New supplier signed this week');
        await manager.page.getByRole('button', { name: /submit for review/i }).click();
        await expectVisible(
          manager,
          manager.page.getByRole('status').filter({ hasText: /waiting for review/i }),
          'the confirmation that the request is in',
        );
        expectNoConsoleErrors(manager, 'proposing');

        await signIn(reviewer.page, stack.baseUrl, reviewerToken);
        await chooseEnglish(reviewer.page);
        await reviewer.page.goto(`${stack.baseUrl}/console/reviews`);
        await reviewer.page.getByRole('link', { name: title }).click();
        // The diff names each field once, with the proposed value beside it.
        const diff = reviewer.page.getByRole('table');
        const row = (field: string) =>
          diff
            .getByRole('row')
            .filter({ has: reviewer.page.getByRole('rowheader', { name: field, exact: true }) });
        await expectVisible(
          reviewer,
          row('Title').getByText(title, { exact: true }),
          'the proposed title in the diff',
        );
        await expectVisible(
          reviewer,
          row('Handler').getByText(handler.id),
          'the proposed handler in the diff',
        );
        await screenshot(reviewer.page, 'review-diff');
        await expectCleanPage(reviewer, 'the review page with its diff');
        await reviewer.page.getByRole('button', { name: 'Approve', exact: true }).click();
        await expectVisible(
          reviewer,
          reviewer.page.getByRole('status').filter({ hasText: /approved/i }),
          'the approval confirmation',
        );
        expectNoConsoleErrors(reviewer, 'approving');

        await signIn(assignee.page, stack.baseUrl, handler.token);
        await chooseEnglish(assignee.page);
        // Approval starts the matter's workflow; the inbox shows it once it is recorded.
        await eventually(async () => {
          await assignee.page.goto(`${stack.baseUrl}/inbox`);
          return (await assignee.page.getByText(title, { exact: true }).count()) > 0;
        }, 'the approved matter in the handler’s inbox');
      } finally {
        await manager.context.close();
        await reviewer.context.close();
        await assignee.context.close();
      }
    },
    SLOW,
  );
});
