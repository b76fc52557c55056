import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Result as AxeResult, RunOptions } from 'axe-core';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
const AXE_SCRIPT = require.resolve('axe-core/axe.min.js');
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/**
 * Debian's chromium, never a downloaded build: CI installs it with apt and cannot reach
 * Playwright's CDN. The flags keep it from phoning home or needing a sandbox/GPU in containers.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors on this person's page since the last check took them. */
  consoleErrors: string[];
}

/** A fresh context per person, so one person's session cookie never signs in another. */
export async function newPerson(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<Person> {
  const context = await browser.newContext({
    locale: options.locale ?? 'en-US',
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  return { context, page, consoleErrors: collectConsoleErrors(page) };
}

/** Signs in at /sign-in with a pasted API token and waits until the app has moved on. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.getByLabel(/token|令牌/i).fill(token);
  await page.getByRole('button', { name: /sign in|登录/i }).click();
  try {
    await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'), { timeout: 15_000 });
  } catch {
    const text = (await page.locator('body').textContent())?.replace(/\s+/g, ' ').trim();
    throw new Error(`signing in did not leave /sign-in; the page says: ${text?.slice(0, 600)}`);
  }
}

/** A live list: every console `error` and every uncaught exception from now on. */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return errors;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's violations on the page as it is now (its default rules: WCAG 2.x A/AA and best
 * practices). `addScriptTag` would inject an inline <script>, which the app's CSP (script-src
 * 'self') rightly blocks; evaluating the source over CDP is exempt, so CSP stays on for the rest.
 */
export async function checkAccessibility(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) await page.evaluate(readFileSync(AXE_SCRIPT, 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(ctx: unknown, opts?: RunOptions): Promise<{ violations: AxeResult[] }> };
      }
    ).axe;
    const doc = (globalThis as unknown as { document: unknown }).document;
    const result = await axe.run(doc);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
    }));
  });
  return violations;
}

/** One line per violation, for an assertion message a newcomer can act on. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.targets.join('\n    ')}`)
    .join('\n');
}

/** A full-page PNG at test/artifacts/<name>.png (git-ignored); returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The document's scroll width beside the viewport's: wider means sideways scrolling on a phone. */
export async function pageWidths(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      innerWidth: number;
      document: { documentElement: { scrollWidth: number } };
    };
    return { scrollWidth: g.document.documentElement.scrollWidth, innerWidth: g.innerWidth };
  });
}

/**
 * Switches to English with the page's own language links unless it is already English: handlers
 * default to zh-CN, and the choice (a cookie) then holds for the rest of the browser context.
 */
export async function chooseEnglish(page: Page): Promise<void> {
  if ((await page.locator('html').getAttribute('lang')) === 'en') return;
  await page.getByRole('link', { name: 'English', exact: true }).click();
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement
        .lang === 'en',
  );
}

/**
 * No console errors since the last check, and no axe violations on the page as it is. Soft, so one
 * run reports both.
 */
export async function expectCleanPage(person: Person, what: string): Promise<void> {
  const violations = await checkAccessibility(person.page);
  expectNoConsoleErrors(person, what);
  expect.soft(violations, `axe violations on ${what}:\n${describeViolations(violations)}`).toEqual([]);
}

/** Waits for the locator to show; a failure says where the browser is and what the page says. */
export async function expectVisible(person: Person, locator: Locator, what: string): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: 15_000 });
  } catch {
    const text = (await person.page.locator('body').textContent())?.replace(/\s+/g, ' ').trim();
    throw new Error(`${what}: not visible at ${person.page.url()}; the page says: ${text?.slice(0, 600)}`);
  }
}

/** No console errors since the last check; soft, so the rest of the flow still runs and reports. */
export function expectNoConsoleErrors(person: Person, what: string): void {
  const errors = person.consoleErrors.splice(0);
  expect.soft(errors, `console errors on ${what} (or just before it):\n${errors.join('\n')}`).toEqual([]);
}
