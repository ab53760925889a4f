/**
 * The CLI as users run it: child processes talking to a local stack that trusts the development identity
 * provider under .local/ (the key `npm start` and the CLI share), driven through stdin.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DIR } from '../../local/paths.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { startChatCli, type ChatCli } from '../support/chat-cli.ts';
import { stackDir } from '../support/plan.ts';

let stack: LocalStack;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ stackDir: stackDir('wschat-dev'), port: 0, stateDir: STATE_DIR });
});

afterAll(async () => {
  for (const child of children) child.kill();
  await stack?.close();
});

function chat(...args: string[]): ChatCli {
  const cli = startChatCli(args);
  children.push(cli.child);
  return cli;
}

// Each test starts CLI processes (tsx, then a connect through cold functions): minutes on a busy machine.
describe('npm run chat', { timeout: 240_000 }, () => {
  it('chats between two users: joins, presence, messages, who, and quitting', async () => {
    const bob = chat('--user', 'cli-bob', '--room', 'cli-room', '--url', stack.url);
    await bob.waitFor(/^\* joined cli-room \(only you here\)$/);

    const alice = chat('--user', 'cli-alice', '--room', 'cli-room', '--url', stack.url);
    await alice.waitFor(/^\* joined cli-room \(2 here: cli-alice, cli-bob\)$/);
    await bob.waitFor(/^\[\d\d:\d\d\] \* cli-alice joined$/);

    alice.type('hi bob');
    alice.type('//slash');
    expect(await bob.waitFor(/cli-alice: hi bob$/)).toMatch(/^\[\d\d:\d\d\] cli-alice: hi bob$/);
    await bob.waitFor(/^\[\d\d:\d\d\] cli-alice: \/slash$/);
    await alice.waitFor(/^\[\d\d:\d\d\] cli-alice: hi bob$/);

    bob.type('/who');
    await bob.waitFor(/^\* in cli-room: cli-alice, cli-bob$/);
    bob.type('/dance');
    await bob.waitFor(/^! unknown command \/dance; \/help lists them$/);

    alice.type('/quit');
    expect(await alice.exited()).toBe(0);
    await bob.waitFor(/^\[\d\d:\d\d\] \* cli-alice left$/);
    bob.child.stdin.end();
    expect(await bob.exited()).toBe(0);
  });

  it('shows the backlog on join', async () => {
    const writer = chat('--user', 'cli-wes', '--room', 'cli-backlog', '--url', stack.url);
    await writer.waitFor(/^\* joined cli-backlog/);
    // One at a time: lines sent together may be stored in any order.
    for (const text of ['first', 'second', 'third']) {
      writer.type(text);
      await writer.waitFor(new RegExp(`cli-wes: ${text}$`));
    }

    const reader = chat('--user', 'cli-rae', '--room', 'cli-backlog', '--backlog', '2', '--url', stack.url);
    await reader.waitFor(/cli-wes: third$/);
    expect(reader.lines().filter((l) => / cli-wes: /.test(l)).map((l) => l.replace(/^\[\d\d:\d\d\] /, ''))).toEqual([
      'cli-wes: second',
      'cli-wes: third',
    ]);
    writer.type('/quit');
    reader.type('/quit');
    expect(await Promise.all([writer.exited(), reader.exited()])).toEqual([0, 0]);
  });

  it('uploads a file with /upload, shows it to the room, and links it with /download', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wschat-cli-upload-'));
    const file = path.join(dir, 'meeting notes.txt');
    writeFileSync(file, 'agenda: attachments\n');
    try {
      const reader = chat('--user', 'cli-rita', '--room', 'cli-files', '--url', stack.url);
      await reader.waitFor(/^\* joined cli-files/);
      const writer = chat('--user', 'cli-walt', '--room', 'cli-files', '--url', stack.url);
      await writer.waitFor(/^\* joined cli-files/);
      writer.type(`/upload ${file}`);
      const shown = await reader.waitFor(/cli-walt: \[file\] meeting notes\.txt \(20 B, text\/plain\) \/download [0-9a-f-]{36}$/);
      const id = /\/download ([0-9a-f-]{36})$/.exec(shown)?.[1];
      reader.type(`/download ${id}`);
      const link = (await reader.waitFor(/^\* http:\/\/127\.0\.0\.1:\d+\/\S+$/)).slice(2);
      expect(await (await fetch(link)).text()).toBe('agenda: attachments\n');
      writer.type('/upload /no/such/file.png');
      await writer.waitFor(/^! .*ENOENT/);
      writer.type('/quit');
      reader.type('/quit');
      expect(await Promise.all([writer.exited(), reader.exited()])).toEqual([0, 0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with usage and exit code 2', async () => {
    const cli = chat('--room', 'x');
    expect(await cli.exited()).toBe(2);
    expect(cli.lines().join('\n')).toContain('error: --user is required');
    expect(cli.lines().join('\n')).toContain('usage: npm run chat -- --user <user>');
  });
});
