import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chooseEnglish,
  expectCleanPage,
  expectNoConsoleErrors,
  expectVisible,
  launchBrowser,
  newPerson,
  type Person,
  pageWidths,
  screenshot,
  signIn,
} from '../support/browser.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

// A real browser against the real stack is slow on a cold CI machine.
const SLOW = 120_000;
const SOURCE = 'web-e2e';

let stack: TestStack;
let browser: Browser;
let sourceToken: string;

beforeAll(async () => {
  // One after the other, so whichever did start is closed below if the other fails.
  stack = await startStack();
  browser = await launchBrowser();
  sourceToken = await issueToken(stack, SOURCE, 'source');
});
// Both close even when a test failed, so no chromium outlives the file.
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function pushMatter(handlerId: string, title: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: SOURCE, externalId: randomUUID(), title, handlerId, details: 'Customer 7781' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const uniqueTitle = (what: string) => `${what} ${randomUUID().slice(0, 8)}`;

/** The action link a handler got in the matter.assigned message, as the stack's receiver saw it. */
async function actionUrl(matterId: string, action: string): Promise<string> {
  const assigned = await stack.receiver.waitFor(
    (h) => h.body.type === 'matter.assigned' && h.body.matter.id === matterId,
    `matter.assigned for ${matterId}`,
  );
  const link = assigned.body.actions.find((a) => a.action === action);
  expect(link, `the matter.assigned notice carries a ${action} link`).toBeDefined();
  return link!.url;
}

/** An inbox row names its matter; counting by exact text tells "listed" from "gone". */
const listed = (person: Person, title: string) => person.page.getByText(title, { exact: true });

/** The form on the matter page whose submit button has this name. */
const formWith = (person: Person, button: RegExp) =>
  person.page.locator('form').filter({ has: person.page.getByRole('button', { name: button }) });

describe('action links in a real browser', () => {
  it(
    'when a handler opens a complete link, then the confirm page is clean and a blank optional comment is accepted',
    async () => {
      const handler = await createHandler(stack);
      const title = uniqueTitle('Approve loan');
      const matterId = await pushMatter(handler.id, title);
      const person = await newPerson(browser);
      try {
        await person.page.goto(await actionUrl(matterId, 'complete'));
        // The page speaks the handler's language (zh-CN by default); the test reads English.
        await chooseEnglish(person.page);
        await expectVisible(person, person.page.getByRole('heading', { name: title }), 'the matter title');
        await expectCleanPage(person, 'the action-link confirm page');

        // What a person does: fill the one field that matters and leave "Comment (optional)" empty.
        await person.page.getByLabel(/outcome/i).fill('approved');
        await person.page.getByRole('button', { name: /complete this matter/i }).click();
        await expectVisible(person, person.page.getByText(/Recorded: complete/), 'the result page');
        const detail = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: handler.token });
        expect(detail.body).toMatchObject({ status: 'completed', outcome: 'approved' });
      } finally {
        await person.context.close();
      }
    },
    SLOW,
  );
});

describe('the handler web UI in a real browser', () => {
  it(
    'when a handler completes a matter through its message link, then after signing in their inbox no longer lists it',
    async () => {
      const handler = await createHandler(stack);
      const done = uniqueTitle('Approve loan');
      const open = uniqueTitle('Check collateral');
      const doneId = await pushMatter(handler.id, done);
      await pushMatter(handler.id, open);
      const person = await newPerson(browser);
      try {
        await person.page.goto(await actionUrl(doneId, 'complete'));
        // The page speaks the handler's language (zh-CN by default); the test reads English.
        await chooseEnglish(person.page);
        await expectVisible(person, person.page.getByRole('heading', { name: done }), 'the matter title');
        await person.page.getByLabel(/outcome/i).fill('approved');
        await person.page.getByLabel(/comment/i).fill('checked the collateral');
        await person.page.getByRole('button', { name: /complete this matter/i }).click();
        await expectVisible(person, person.page.getByText(/Recorded: complete/), 'the result page');
        await eventually(async () => {
          const d = await call(stack, 'GET', `/v1/matters/${doneId}`, { token: handler.token });
          return d.body.status === 'completed';
        }, 'the completed matter to be recorded');

        await signIn(person.page, stack.baseUrl, handler.token);
        await chooseEnglish(person.page);
        await person.page.goto(`${stack.baseUrl}/inbox`);
        await expectVisible(person, listed(person, open), 'the still-open matter in the inbox');
        expect(await listed(person, done).count(), 'the completed matter is gone from the inbox').toBe(0);
        await screenshot(person.page, 'inbox');
        await expectCleanPage(person, 'the inbox');
      } finally {
        await person.context.close();
      }
    },
    SLOW,
  );

  it(
    'when a handler transfers a matter from its page, then the new handler’s inbox shows it',
    async () => {
      const from = await createHandler(stack);
      const to = await createHandler(stack);
      const title = uniqueTitle('Renew contract');
      const matterId = await pushMatter(from.id, title);
      const sender = await newPerson(browser);
      const receiver = await newPerson(browser);
      try {
        await signIn(sender.page, stack.baseUrl, from.token);
        await chooseEnglish(sender.page);
        await sender.page.goto(`${stack.baseUrl}/matters/${matterId}`);
        await expectVisible(sender, sender.page.getByRole('heading', { name: title }), 'the matter title');
        await screenshot(sender.page, 'matter');
        await expectCleanPage(sender, 'the matter page');

        const transfer = formWith(sender, /transfer the matter/i);
        // The option's value or its label may carry the handler id; selectOption takes either.
        await transfer.getByLabel(/transfer to/i).selectOption(to.id);
        await transfer.getByLabel(/reason/i).fill('I am on leave this week');
        await transfer.getByRole('button', { name: /transfer the matter/i }).click();
        await expectVisible(sender, sender.page.getByText(/transferred to/i), 'the transfer confirmation');
        expectNoConsoleErrors(sender, 'transferring');
        await eventually(async () => {
          const d = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: stack.adminToken });
          return d.body.handlerId === to.id;
        }, 'the transfer to be recorded');

        await signIn(receiver.page, stack.baseUrl, to.token);

        await chooseEnglish(receiver.page);
        await receiver.page.goto(`${stack.baseUrl}/inbox`);
        await expectVisible(receiver, listed(receiver, title), 'the transferred matter in the new inbox');
        await sender.page.goto(`${stack.baseUrl}/inbox`);
        expect(await listed(sender, title).count(), 'the matter left the old handler’s inbox').toBe(0);
      } finally {
        await sender.context.close();
        await receiver.context.close();
      }
    },
    SLOW,
  );

  it(
    'when a handler files an exception with its type’s fields from the matter page, then the type’s subscriber sees it on the exception board',
    async () => {
      const filer = await createHandler(stack);
      const risk = await createHandler(stack);
      const code = `PAYEE_${randomUUID().slice(0, 8).toUpperCase()}`;
      const type = await call(stack, 'POST', '/v1/exception-types', {
        token: stack.adminToken,
        body: {
          code,
          names: { 'zh-CN': '收款人不符', en: 'Payee mismatch' },
          severity: 'high',
          fieldsSchema: {
            type: 'object',
            required: ['account'],
            properties: { account: { type: 'string', title: 'Payee account', maxLength: 64 } },
          },
          subscribers: [{ kind: 'handler', id: risk.id }],
        },
      });
      expect(type.status, JSON.stringify(type.body)).toBe(201);
      const title = uniqueTitle('Pay supplier');
      const matterId = await pushMatter(filer.id, title);
      const description = `Payee account differs from the contract ${randomUUID().slice(0, 6)}`;
      const person = await newPerson(browser);
      const subscriber = await newPerson(browser);
      try {
        await signIn(person.page, stack.baseUrl, filer.token);
        await chooseEnglish(person.page);
        await person.page.goto(`${stack.baseUrl}/matters/${matterId}`);
        await expectVisible(person, person.page.getByRole('heading', { name: title }), 'the matter title');

        // Type first: the form then shows that type's own fields.
        const chooseType = formWith(person, /continue/i);
        await chooseType.getByLabel(/event type/i).selectOption(code);
        await chooseType.getByRole('button', { name: /continue/i }).click();
        const file = formWith(person, /file the exception/i);
        await expectVisible(person, file.getByLabel(/payee account/i), 'the type’s own field');
        await file.getByLabel(/what happened/i).fill(description);
        await file.getByLabel(/payee account/i).fill('CN-4410-7781');
        await file.getByRole('button', { name: /file the exception/i }).click();
        await expectVisible(person, person.page.getByText(/exception was filed/i), 'the filing confirmation');
        expectNoConsoleErrors(person, 'filing');

        await signIn(subscriber.page, stack.baseUrl, risk.token);
        await chooseEnglish(subscriber.page);
        await subscriber.page.goto(`${stack.baseUrl}/exceptions`);
        const filing = subscriber.page.getByRole('listitem').filter({ hasText: description });
        await expectVisible(subscriber, filing, 'the filing on the exception board');
        await expectVisible(subscriber, filing.getByRole('link', { name: title }), 'the filing’s matter');
        await expectVisible(subscriber, filing.getByText('CN-4410-7781'), 'the filed field value');
        await screenshot(subscriber.page, 'exceptions');
        await expectCleanPage(subscriber, 'the exception board');
      } finally {
        await person.context.close();
        await subscriber.context.close();
      }
    },
    SLOW,
  );

  it(
    'when the inbox is opened on a phone, then it does not scroll sideways',
    async () => {
      const handler = await createHandler(stack);
      const title = uniqueTitle('A matter with a rather long title that must wrap on a small screen');
      await pushMatter(handler.id, title);
      const person = await newPerson(browser, { viewport: { width: 375, height: 740 } });
      try {
        // In the handler's own zh-CN: CJK titles and labels must wrap too.
        await signIn(person.page, stack.baseUrl, handler.token);
        await person.page.goto(`${stack.baseUrl}/inbox`);
        await expectVisible(person, listed(person, title), 'the matter in the inbox');
        const { scrollWidth, innerWidth } = await pageWidths(person.page);
        expect(
          scrollWidth,
          `the inbox is ${scrollWidth}px wide in a ${innerWidth}px viewport`,
        ).toBeLessThanOrEqual(innerWidth);
      } finally {
        await person.context.close();
      }
    },
    SLOW,
  );
});
