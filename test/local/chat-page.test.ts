/**
 * The browser chat page the local stack serves at `/`, in headless Chromium: two pages and the terminal client
 * chat in one room with presence and typing, and a page whose network dies resumes without loss or duplicates.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DIR } from '../../local/paths.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { launchChromium } from '../support/browser.ts';
import { startChatCli, type ChatCli } from '../support/chat-cli.ts';
import { deleteConnectionsOf } from '../support/connections.ts';
import { editedPlanDir, sendRateWindow } from '../support/plan-copy.ts';
import { SEND_RATE_BOUNDS } from '../../functions/domain/rate-limit.ts';
import { FunctionClock } from '../../local/lambda/function-clock.ts';

// The send window is counted on the functions' clock, which the rate-limit test stops: its burst falls in one window
// however slow the machine, and the test moves the clock past the window instead of waiting.
const RATE_WINDOW_MS = SEND_RATE_BOUNDS.windowMs.min;
const functionClock = new FunctionClock();
let stack: LocalStack;
let browser: Browser;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  // The key under .local/, which the terminal client signs its tokens with.
  stack = await startLocalStack({ stackDir: editedPlanDir(sendRateWindow(RATE_WINDOW_MS)), port: 0, stateDir: STATE_DIR, functionClock });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const child of children) child.kill();
  await browser?.close();
  await stack?.close();
});

interface ChatPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly pageErrors: string[];
}

interface LoggedMessage {
  readonly seq: number;
  readonly user: string;
  readonly text: string;
}

/** A user signs in on the page in a browser context of their own (so one can go offline alone). */
async function openChat(user: string, room: string): Promise<ChatPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${stack.port}/`);
  await page.locator('#user').fill(user);
  await page.locator('#first-room').fill(room);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#connection-state[data-state="open"]').waitFor();
  await page.locator(`#rooms li[data-room="${room}"]`).waitFor();
  return { context, page, pageErrors };
}

function terminal(user: string, room: string): ChatCli {
  const cli = startChatCli(['--user', user, '--room', room, '--url', stack.url]);
  children.push(cli.child);
  return cli;
}

async function sendFrom({ page }: ChatPage, text: string): Promise<void> {
  await page.locator('#message-text').fill(text);
  await page.locator('#message-text').press('Enter');
}

/** Resolves once the message is in the page's log (delivered, with its seq), not just in its outbox. */
async function shown({ page }: ChatPage, text: string): Promise<void> {
  await page.locator('.room-log li[data-seq] .text').getByText(text, { exact: true }).waitFor();
}

async function loggedMessages({ page }: ChatPage): Promise<LoggedMessage[]> {
  const items = await page.locator('.room-log li[data-seq]').all();
  return Promise.all(
    items.map(async (item) => ({
      seq: Number(await item.getAttribute('data-seq')),
      user: (await item.getAttribute('data-user')) ?? '',
      text: (await item.locator('.text').textContent()) ?? '',
    })),
  );
}

async function people({ page }: ChatPage): Promise<string[]> {
  const items = await page.locator('#people li').all();
  return Promise.all(items.map(async (item) => (await item.getAttribute('data-user')) ?? ''));
}

/** A real PNG (solid colour), so the page's thumbnail has pixels to decode. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([242, 153, 74]))]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const cliMessage = (user: string, text: string) => new RegExp(`^\\[\\d\\d:\\d\\d\\] ${user}: ${escaped(text)}$`);

/** Records, in the page, every state the connection badge shows from now on. */
const RECORD_SHOWN_STATES = `(() => {
  const badge = document.getElementById('connection-state');
  window.shownStates = [];
  new MutationObserver(() => window.shownStates.push(badge.dataset.state)).observe(badge, { attributeFilter: ['data-state'] });
})()`;

describe('the chat page', () => {
  it('chats with another page and the terminal client, with presence and typing, and resumes after its network died', async () => {
    const room = 'page-room';
    const alice = await openChat('alice', room);
    const bob = await openChat('bob', room);
    const carol = terminal('carol', room);
    await carol.waitFor(/^\* joined page-room \(3 here: alice, bob, carol\)$/);
    await expect.poll(() => people(alice)).toEqual(['alice', 'bob', 'carol']);
    await expect.poll(() => people(bob)).toEqual(['alice', 'bob', 'carol']);
    expect(await bob.page.locator('#people li[data-user="bob"]').textContent()).toBe('bob (you)');

    // Typing shows on the other page and in the terminal; the message then ends the typing line.
    await alice.page.locator('#message-text').pressSequentially('hello from alice', { delay: 30 });
    await bob.page.locator('#typing').getByText('alice is typing…').waitFor();
    await carol.waitFor(/^\s+alice is typing…$/);
    await alice.page.locator('#message-text').press('Enter');
    const expected: { user: string; text: string }[] = [{ user: 'alice', text: 'hello from alice' }];
    await Promise.all([shown(alice, 'hello from alice'), shown(bob, 'hello from alice'), carol.waitFor(cliMessage('alice', 'hello from alice'))]);
    expect(await bob.page.locator('#typing').textContent()).toBe('');

    await sendFrom(bob, 'hi alice, bob here');
    expected.push({ user: 'bob', text: 'hi alice, bob here' });
    await Promise.all([shown(alice, 'hi alice, bob here'), shown(bob, 'hi alice, bob here'), carol.waitFor(cliMessage('bob', 'hi alice, bob here'))]);
    carol.type('hello from the terminal');
    expected.push({ user: 'carol', text: 'hello from the terminal' });
    await Promise.all([shown(alice, 'hello from the terminal'), shown(bob, 'hello from the terminal')]);
    expect(await alice.page.locator('.room-log li.own[data-seq] .text').allTextContents()).toEqual(['hello from alice']);

    // Bob's network dies. Chromium's offline mode fails new connections and requests but leaves an open
    // WebSocket open, so the gateway drops bob's connection as a dead network would end it.
    await bob.page.evaluate(RECORD_SHOWN_STATES);
    await bob.context.setOffline(true);
    expect(await deleteConnectionsOf(stack, 'bob')).toBe(1);
    await bob.page.locator('#connection-state[data-state="reconnecting"]').waitFor();
    // Why: the closed socket, or (once the next attempt ran) the token request the offline page could not make.
    expect(await bob.page.locator('#connection-detail').textContent()).toMatch(/^(connection lost: closed|could not get a token: )/);
    await expect.poll(() => people(alice)).toEqual(['alice', 'carol']);
    await carol.waitFor(/^\[\d\d:\d\d\] \* bob left$/);

    // What bob writes meanwhile waits in his outbox; the others keep talking, one message at a time.
    await sendFrom(bob, 'written while offline');
    await bob.page.locator('.outbox li.pending .text').getByText('written while offline').waitFor();
    const whileAway = [
      { user: 'alice', text: 'bob, are you there?' },
      { user: 'carol', text: 'he dropped off' },
      { user: 'alice', text: 'he will catch up' },
      { user: 'carol', text: 'every message, once' },
      { user: 'alice', text: 'and in order' },
    ];
    for (const message of whileAway) {
      if (message.user === 'alice') await sendFrom(alice, message.text);
      else carol.type(message.text);
      expected.push(message);
      await shown(alice, message.text);
    }
    expect(await bob.page.locator('#connection-state').getAttribute('data-state')).not.toBe('open');

    // The network is back: the library reconnects, re-joins after its last seq and sends the waiting message.
    await bob.context.setOffline(false);
    expected.push({ user: 'bob', text: 'written while offline' });
    await Promise.all([
      shown(alice, 'written while offline'),
      shown(bob, 'written while offline'),
      carol.waitFor(cliMessage('bob', 'written while offline'), 45_000),
    ]);
    await bob.page.locator('#connection-state[data-state="open"]').waitFor();
    await expect.poll(() => people(alice)).toEqual(['alice', 'bob', 'carol']);
    await expect.poll(() => people(bob)).toEqual(['alice', 'bob', 'carol']);
    await expect.poll(() => carol.lines().filter((l) => /\* bob joined$/.test(l)).length).toBe(1);

    // One more message after the resume: anything delivered twice would be in the log before it.
    await sendFrom(alice, 'welcome back');
    expected.push({ user: 'alice', text: 'welcome back' });
    await Promise.all([shown(bob, 'welcome back'), carol.waitFor(cliMessage('alice', 'welcome back'))]);

    const whole = expected.map((message, i) => ({ seq: i + 1, ...message }));
    expect(await loggedMessages(bob)).toEqual(whole);
    expect(await loggedMessages(alice)).toEqual(whole);
    expect(await bob.page.locator('.outbox li').count()).toBe(0);
    for (const message of expected) {
      expect(carol.lines().filter((line) => cliMessage(message.user, message.text).test(line))).toHaveLength(1);
    }

    const shownStates = (await bob.page.evaluate('window.shownStates')) as string[];
    expect(shownStates[0]).toBe('reconnecting');
    expect(shownStates).toContain('connecting');
    expect(shownStates.at(-1)).toBe('open');
    expect(shownStates.filter((state) => state === 'open')).toHaveLength(1);
    expect(await bob.page.locator('#connection-state').textContent()).toBe('connected');

    expect([...alice.pageErrors, ...bob.pageErrors]).toEqual([]);
    carol.type('/quit');
    expect(await carol.exited()).toBe(0);
  }, 120_000);

  it('shows refused sends readably: TOO_LARGE at once, RATE_LIMITED while the send waits to be retried', async () => {
    const dana = await openChat('dana', 'page-limits');

    await sendFrom(dana, 'x'.repeat(4001));
    const refused = dana.page.locator('.outbox li.failed .status');
    await refused.waitFor();
    expect(await refused.textContent()).toBe('not sent — TOO_LARGE: text must be at most 4000 Unicode code points');

    // The plan allows 20 sends per window on a connection: of a burst of 21, one is refused and shows why while
    // it waits to be sent again (and is refused again while the functions' clock stands still).
    functionClock.stop();
    try {
      for (let i = 1; i <= 21; i++) await sendFrom(dana, `burst ${i}`);
      await dana.page
        .locator('.outbox li.retrying .status', {
          hasText: new RegExp(`^retrying( in \\d+\\.\\d s)? — RATE_LIMITED: at most 20 sends per ${RATE_WINDOW_MS} ms on one connection; retry in \\d+ ms$`),
        })
        .waitFor({ timeout: 60_000 });
      await expect.poll(() => dana.page.locator('.room-log li[data-seq]').count()).toBe(20);
      functionClock.advance(RATE_WINDOW_MS);
    } finally {
      functionClock.resume();
    }
    await expect.poll(() => dana.page.locator('.room-log li[data-seq]').count()).toBe(21);
    await expect.poll(() => dana.page.locator('.outbox li.pending').count()).toBe(0);
    expect(dana.pageErrors).toEqual([]);
  }, 180_000);

  it('sends files: attach, upload progress, thumbnails and download links on the other page', async () => {
    const room = 'page-files';
    const erin = await openChat('erin', room);
    const finn = await openChat('finn', room);
    const picture = png(24, 16);
    const notes = Buffer.from('notes for finn\n');

    await erin.page.locator('#attach-file').setInputFiles([
      { name: 'sunset.png', mimeType: 'image/png', buffer: picture },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: notes },
    ]);
    const chips = erin.page.locator('#uploads li');
    await expect.poll(() => chips.evaluateAll((items) => items.map((i) => i.getAttribute('data-state')))).toEqual(['uploaded', 'uploaded']);
    expect(await chips.locator('progress').evaluateAll((bars) => bars.map((b) => (b as unknown as { value: number }).value))).toEqual([1, 1]);
    await sendFrom(erin, 'two files');
    await expect.poll(() => chips.count()).toBe(0);

    for (const { page } of [erin, finn]) {
      const message = page.locator('.room-log li[data-seq]', { hasText: 'two files' });
      await message.waitFor();
      expect(await message.locator('.attachment-link').allTextContents()).toEqual([`sunset.png (${picture.length} B)`, 'notes.txt (15 B)']);
      // The thumbnail is the picture itself, loaded from the bucket through its presigned link.
      const thumbnail = message.locator('img.thumbnail');
      await expect.poll(() => thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(24);
      expect(await message.locator('.attachments li').count()).toBe(2);
    }
    const link = finn.page.locator('.room-log li[data-seq] .attachment-link', { hasText: 'notes.txt' });
    await expect.poll(() => link.getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
    const download = await fetch(String(await link.getAttribute('href')));
    expect(await download.text()).toBe('notes for finn\n');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="notes.txt"/);

    // A file the stage does not take is refused before anything is uploaded, and says why.
    await erin.page.locator('#attach-file').setInputFiles([{ name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<p>hi</p>') }]);
    await erin.page.locator('#uploads li[data-state="failed"]', { hasText: 'UNSUPPORTED_TYPE' }).waitFor();
    expect([...erin.pageErrors, ...finn.pageErrors]).toEqual([]);
  }, 120_000);

  it('mints development tokens only for valid user ids', async () => {
    const tokenUrl = (user: string) => `http://127.0.0.1:${stack.port}/_local/token?user=${encodeURIComponent(user)}`;
    const minted = await fetch(tokenUrl('alice'));
    expect(minted.status).toBe(200);
    expect(((await minted.json()) as { token: string }).token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const refused = await fetch(tokenUrl('not a user'));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ message: 'user must match ^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$' });
  });
});
