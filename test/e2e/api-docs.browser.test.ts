import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPerson } from '../support/browser.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ worker: false }), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the API documentation page', () => {
  it('renders the OpenAPI operations under the app’s content security policy, without console errors', async () => {
    const person = await newPerson(browser);
    await person.page.goto(`${stack.baseUrl}/docs`);
    await person.page.getByText('/v1/matters/{id}/complete').first().waitFor({ timeout: 20_000 });
    expect(person.consoleErrors).toEqual([]);
    await person.context.close();
  });
});
