import { describe, expect, it } from 'vitest';
import {
  contentTypeOf,
  DEFAULT_BACKLOG,
  DEFAULT_URL,
  formatError,
  formatJoined,
  formatMessage,
  formatPresence,
  formatSize,
  formatState,
  formatTime,
  formatTyping,
  formatWho,
  parseCliArgs,
  parseInput,
  TYPING_REPEAT_MS,
  TypingLines,
} from '../../client/cli-core.ts';
import { ChatClientError } from '../../client/chat-client.ts';

/** 12:01 local time today, whatever the machine's time zone. */
const at = (hours: number, minutes: number) => new Date(2024, 5, 1, hours, minutes, 30).getTime();

describe('parseCliArgs', () => {
  it('takes --user, --room, --url and --backlog with defaults', () => {
    expect(parseCliArgs(['--user', 'alice'])).toEqual({
      ok: true,
      options: { user: 'alice', room: 'general', url: DEFAULT_URL, backlog: DEFAULT_BACKLOG },
    });
    expect(parseCliArgs(['--user', 'bob', '--room', 'ops', '--url', 'wss://x.example/prod', '--backlog', '0'])).toEqual({
      ok: true,
      options: { user: 'bob', room: 'ops', url: 'wss://x.example/prod', backlog: 0 },
    });
    expect(DEFAULT_URL).toBe('ws://127.0.0.1:8080/dev');
  });

  it.each([
    [[], '--user is required'],
    [['--user', 'bad#user'], '--user must match'],
    [['--user', 'alice', '--room', 'no room'], '--room must match'],
    [['--user', 'alice', '--url', 'http://127.0.0.1:8080/dev'], '--url must be a ws:// or wss:// URL'],
    [['--user', 'alice', '--backlog=-1'], '--backlog must be a whole number from 0 to 1000'],
    [['--user', 'alice', '--backlog', '1001'], '--backlog must be a whole number from 0 to 1000'],
    [['--user', 'alice', '--backlog', 'lots'], '--backlog must be a whole number from 0 to 1000'],
    [['--user', 'alice', '--colour', 'red'], "Unknown option '--colour'"],
    [['--user'], "Option '--user <value>' argument missing"],
  ])('refuses %j', (argv, error) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toContain(error);
  });
});

describe('parseInput', () => {
  it('sends plain text as typed, spaces included', () => {
    expect(parseInput('hi bob')).toEqual({ kind: 'send', text: 'hi bob' });
    expect(parseInput('  indented ')).toEqual({ kind: 'send', text: '  indented ' });
  });

  it('ignores blank lines', () => {
    expect(parseInput('')).toEqual({ kind: 'nothing' });
    expect(parseInput('   ')).toEqual({ kind: 'nothing' });
  });

  it('sends a line starting with // as text starting with /', () => {
    expect(parseInput('//shrug')).toEqual({ kind: 'send', text: '/shrug' });
  });

  it.each([
    ['/join ops', { kind: 'join', room: 'ops' }],
    ['/JOIN  ops ', { kind: 'join', room: 'ops' }],
    ['/join ops private', { kind: 'join', room: 'ops', visibility: 'private' }],
    ['/invite bob', { kind: 'invite', user: 'bob', role: 'member' }],
    ['/invite bob admin', { kind: 'invite', user: 'bob', role: 'admin' }],
    ['/remove bob', { kind: 'remove', user: 'bob' }],
    ['/leave', { kind: 'leave' }],
    ['/who', { kind: 'who' }],
    ['/help', { kind: 'help' }],
    ['/quit', { kind: 'quit' }],
    ['/exit', { kind: 'quit' }],
    ['/upload ./photos/Summer 2026.png', { kind: 'upload', path: './photos/Summer 2026.png' }],
    ['/UPLOAD  a.txt ', { kind: 'upload', path: 'a.txt' }],
    ['/download 0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0', { kind: 'download', attachmentId: '0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0' }],
  ])('parses %j', (line, command) => {
    expect(parseInput(line)).toEqual(command);
  });

  it.each([
    ['/join', 'usage: /join <room>'],
    ['/join a b', 'usage: /join <room> [private]'],
    ['/join a private b', 'usage: /join <room> [private]'],
    ['/invite', 'usage: /invite <user> [admin]'],
    ['/invite bob owner', 'usage: /invite <user> [admin]'],
    ['/invite bad#user', 'user must match'],
    ['/remove', 'usage: /remove <user>'],
    ['/upload', 'usage: /upload <path>'],
    ['/download', 'usage: /download <id>'],
    ['/download ../x', 'id must be an attachment id'],
    ['/remove bob carol', 'usage: /remove <user>'],
    ['/join -bad', 'room must match'],
    ['/dance', 'unknown command /dance; /help lists them'],
    ['/', 'unknown command /; /help lists them'],
  ])('refuses %j', (line, error) => {
    const command = parseInput(line);
    expect(command.kind).toBe('invalid');
    expect(command.kind === 'invalid' && command.error).toContain(error);
  });
});

describe('formatting', () => {
  const message = { room: 'general', seq: 1, id: 'i', user: 'alice', text: 'hi', ts: at(12, 1) };

  it('pads the time to HH:MM', () => {
    expect(formatTime(at(9, 5))).toBe('09:05');
    expect(formatTime(at(23, 59))).toBe('23:59');
  });

  it('prints a message as "[12:01] alice: hi", naming the room when it is not the current one', () => {
    expect(formatMessage(message, 'general')).toBe('[12:01] alice: hi');
    expect(formatMessage(message, 'ops')).toBe('[12:01] #general alice: hi');
    expect(formatMessage(message, undefined)).toBe('[12:01] #general alice: hi');
  });

  it('lists attachments under the message, with the command that links each', () => {
    const id = '0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0';
    const file = { id, fileName: 'plan.pdf', contentType: 'application/pdf', size: 1536 };
    expect(formatMessage({ ...message, attachments: [file] }, 'general')).toBe(
      `[12:01] alice: hi\n               [file] plan.pdf (1.5 KB, application/pdf) /download ${id}`,
    );
    expect(formatMessage({ ...message, text: '', attachments: [file, { ...file, fileName: 'b.pdf' }] }, 'general')).toBe(
      `[12:01] alice: [file] plan.pdf (1.5 KB, application/pdf) /download ${id}\n               [file] b.pdf (1.5 KB, application/pdf) /download ${id}`,
    );
  });

  it('sizes files in B, KB and MB, and types them by extension', () => {
    expect([formatSize(1023), formatSize(1536), formatSize(10 * 1024 * 1024)]).toEqual(['1023 B', '1.5 KB', '10.0 MB']);
    expect([contentTypeOf('a.PNG'), contentTypeOf('/x/y.jpeg'), contentTypeOf('notes.txt'), contentTypeOf('archive.tar.gz'), contentTypeOf('README')]).toEqual([
      'image/png',
      'image/jpeg',
      'text/plain',
      'application/octet-stream',
      'application/octet-stream',
    ]);
  });

  it('indents the continuation lines of a multi-line message', () => {
    expect(formatMessage({ ...message, text: 'one\ntwo\r\nthree' }, 'general')).toBe(
      '[12:01] alice: one\n               two\n               three',
    );
  });

  it('prints presence, typing, joins and who', () => {
    expect(formatPresence({ room: 'general', user: 'bob', event: 'join' }, 'general', at(12, 2))).toBe('[12:02] * bob joined');
    expect(formatPresence({ room: 'ops', user: 'bob', event: 'leave' }, 'general', at(12, 3))).toBe('[12:03] * #ops bob left');
    expect(formatTyping({ room: 'general', user: 'bob' }, 'general')).toBe('        bob is typing…');
    expect(formatJoined({ room: 'general', lastSeq: 4, members: ['alice'], memberCount: 1 }, false)).toBe('* joined general (only you here)');
    expect(formatJoined({ room: 'general', lastSeq: 4, members: ['alice', 'bob'], memberCount: 2 }, false)).toBe(
      '* joined general (2 here: alice, bob)',
    );
    expect(formatJoined({ room: 'general', lastSeq: 4, members: ['alice', 'bob'], memberCount: 700 }, false)).toBe(
      '* joined general (700 here: alice, bob and 698 more (/who lists all))',
    );
    expect(formatJoined({ room: 'general', lastSeq: 4, members: ['alice'], memberCount: 1 }, true)).toBe('* rejoined general');
    expect(formatWho('general', ['alice', 'bob'])).toBe('* in general: alice, bob');
  });

  it('prints connection state changes', () => {
    expect(formatState({ state: 'connecting', attempt: 1 })).toBe('* connecting');
    expect(formatState({ state: 'connecting', attempt: 3 })).toBe('* connecting (attempt 3)');
    expect(formatState({ state: 'open' })).toBe('* connected');
    expect(formatState({ state: 'reconnecting', delayMs: 1234, reason: 'closed with 1006' })).toBe(
      '* connection lost (closed with 1006); reconnecting in 1.2 s',
    );
    expect(formatState({ state: 'closed' })).toBe('* disconnected');
    expect(formatState({ state: 'idle' })).toBeUndefined();
  });

  it('prints errors with their code', () => {
    expect(formatError(new ChatClientError('RATE_LIMITED', 'slow down'))).toBe('! RATE_LIMITED: slow down');
    expect(formatError(new Error('boom'))).toBe('! boom');
  });
});

describe('TypingLines', () => {
  it('shows a user typing once per TYPING_REPEAT_MS, per room', () => {
    const lines = new TypingLines();
    const bob = { room: 'general', user: 'bob' };
    expect(lines.show(bob, 0)).toBe(true);
    expect(lines.show(bob, TYPING_REPEAT_MS - 1)).toBe(false);
    expect(lines.show({ room: 'ops', user: 'bob' }, 1)).toBe(true);
    expect(lines.show({ room: 'general', user: 'carol' }, 1)).toBe(true);
    expect(lines.show(bob, TYPING_REPEAT_MS)).toBe(true);
  });

  it("shows the next signal at once after the user's message", () => {
    const lines = new TypingLines();
    const bob = { room: 'general', user: 'bob' };
    lines.show(bob, 0);
    lines.messageFrom('general', 'bob');
    expect(lines.show(bob, 10)).toBe(true);
  });
});
