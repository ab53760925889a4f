/**
 * The local dashboard page in a real browser: it opens on what needs attention (nothing, then the alarm an
 * injected fault raises), renders markdown as CloudWatch does, draws alarm thresholds as annotations and shows
 * each SLO's error budget; during the fault the alarm turns red and charts draw.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { ChatClient } from '../support/ws-client.ts';

const { stack } = useStack(() => bootDevStack({ timeScale: 60 }));

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

it('opens on a quiet summary, not rows of grey alarms; renders markdown, threshold annotations and error budgets', async () => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${stack.port}/_dashboard`);

  await expect.poll(() => page.locator('#attention h2').textContent()).toMatch(/^Nothing needs attention: no alarm in ALARM \(\d+ alarms\)$/);
  // Every alarm is there, folded under its counts: none is a visible row until something is in ALARM.
  expect(await page.locator('tr.alarm-row').count()).toBeGreaterThan(50);
  expect(await page.locator('tr.alarm-row:visible').count()).toBe(0);
  expect(await page.locator('details.quiet-alarms summary').first().textContent()).toMatch(/^No alarm in ALARM: .*\d+ OK/);

  // The on-call text widget is markdown rendered, never the raw source.
  expect(await page.locator('.markdown h1').first().textContent()).toBe('wschat on-call');
  expect(await page.locator('.markdown strong').first().textContent()).toBe('Start here.');
  expect(await page.getByText('# wschat on-call').count()).toBe(0);

  // Thresholds from the alarm catalog, drawn as lines with their labels in the graph's legend.
  const rates = page.locator('.card', { has: page.locator('h3', { hasText: /^Error rates \(%\)$/ }) });
  await expect.poll(() => rates.locator('.plot').getAttribute('data-annotations')).toContain('api-integration-errors: page above 5%');
  expect(await rates.locator('.u-legend').textContent()).toContain('api-client-errors: ticket above 5%');
  const burn = page.locator('.card', { has: page.locator('h3', { hasText: 'send-availability: burn rate' }) });
  expect(await burn.locator('.u-legend').textContent()).toContain('fast tier: page above 14.4x');

  // Each SLO's budget is one number; with no failures yet, all of it is left.
  const budgets = page.locator('.card', { has: page.locator('h3', { hasText: 'error budget left of 30 days' }) });
  expect(await budgets.count()).toBe(2);
  await expect.poll(() => budgets.locator('.single-value').allTextContents()).toEqual(['100', '100']);
  expect(pageErrors).toEqual([]);
});

it('shows the crashing function alarm in ALARM with its runbook link, and draws the metric charts', async () => {
  const client = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('alice')));
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${stack.port}/_dashboard`);

  stack.faults.inject({ kind: 'function-crash', functionName: 'wschat-dev-ping' });
  const pings = setInterval(() => client.send({ action: 'ping' }), 100);
  try {
    // One rendering of the page with the member and the page composite both in ALARM: on a busy machine the
    // crashing function's invocations hover at the traffic floor and the two flip back to OK together, so each
    // is read from the same refresh, never one after the other.
    // (A string: the page's DOM is not in this project's TypeScript libraries.)
    const seen = (await page
      .waitForFunction(
        `(() => {
          const firing = (name) => document.querySelector('tr[data-alarm="' + name + '"][data-state="ALARM"]');
          const member = firing('wschat-dev-lambda-errors-ping');
          const composite = firing('wschat-dev-page');
          if (!member || !composite) return undefined;
          return {
            runbook: member.querySelector('a')?.getAttribute('href'),
            visible: member.offsetParent !== null && composite.offsetParent !== null,
            attention: [...document.querySelectorAll('#attention .attention-item strong')].map((e) => e.textContent),
            first: document.querySelector('#content > :first-child')?.id,
          };
        })()`,
        undefined,
        { timeout: 40_000, polling: 50 },
      )
      .then((handle) => handle.jsonValue())) as { runbook?: string; visible: boolean; attention: string[]; first?: string };
    expect(seen?.runbook).toMatch(/dashboards\/runbooks\/lambda-errors\.md$/);
    expect(seen?.visible).toBe(true);
    // What needs attention opens the page: above everything else, each alarm in ALARM once, with its runbook.
    expect(seen?.attention).toEqual(expect.arrayContaining(['wschat-dev-lambda-errors-ping', 'wschat-dev-page']));
    expect(seen?.first).toBe('attention');
    expect(await page.locator('.plot canvas').count()).toBeGreaterThan(10);
  } finally {
    clearInterval(pings);
    stack.faults.clear();
    await client.close();
  }
  expect(pageErrors).toEqual([]);
});
