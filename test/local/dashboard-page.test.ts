/** The local dashboard page in a real browser: during an injected fault the alarm turns red and charts draw. */
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

it('shows the crashing function alarm in ALARM with its runbook link, and draws the metric charts', async () => {
  const client = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('alice')));
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${stack.port}/_dashboard`);

  stack.faults.inject({ kind: 'function-crash', functionName: 'wschat-dev-ping' });
  const pings = setInterval(() => client.send({ action: 'ping' }), 100);
  try {
    const row = page.locator('tr[data-alarm="wschat-dev-lambda-errors-ping"][data-state="ALARM"]');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('a').getAttribute('href')).toMatch(/dashboards\/runbooks\/lambda-errors\.md$/);
    await page.locator('tr[data-alarm="wschat-dev-page"][data-state="ALARM"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('.plot canvas').count()).toBeGreaterThan(10);
  } finally {
    clearInterval(pings);
    stack.faults.clear();
    await client.close();
  }
  expect(pageErrors).toEqual([]);
});
