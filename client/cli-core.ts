/**
 * The terminal chat client's pure parts: argument and input parsing, and how events become lines of text.
 * client/cli.ts wires them to the terminal and the ChatClient.
 */
import { parseArgs } from 'node:util';
import type { MessageView } from '../functions/domain/protocol.ts';
import { ATTACHMENT_ID_PATTERN, ROOM_PATTERN, USER_ID_PATTERN } from '../functions/domain/protocol-rules.ts';
import type { ChatClientError, JoinedRoom, PresenceChange, StateChange, Typing } from './chat-client.ts';

export const DEFAULT_URL = 'ws://127.0.0.1:8080/dev';
export const DEFAULT_ROOM = 'general';
/** Messages shown from before the join, so a new session has context. */
export const DEFAULT_BACKLOG = 20;
/** A user's typing line is not repeated within this time (the server relays one every 2 s at most). */
export const TYPING_REPEAT_MS = 5000;

export const USAGE = 'usage: npm run chat -- --user <user> [--room <room>] [--url ws://127.0.0.1:8080/dev] [--backlog <n>]';

export const HELP = [
  'type a line and press enter to send it to the current room',
  '/join <room> [private]   join a room and make it the current one (private: create it as a private room)',
  '/invite <user> [admin]   invite a user to the current private room (as admin: owner only)',
  '/remove <user>  remove a user from the current private room',
  '/leave         leave the current room',
  '/who           list the users in the current room',
  '/upload <path> send a file to the current room (pictures, PDFs, text; see docs/protocol.md#attachments)',
  '/download <id> print a link (5 minutes) to an attachment of the current room',
  '/quit          leave the chat (also Ctrl-D)',
  '//text         send a line that starts with /',
].join('\n');

export interface CliOptions {
  readonly user: string;
  readonly room: string;
  readonly url: string;
  readonly backlog: number;
}

export type ParsedArgs =
  | { readonly ok: true; readonly options: CliOptions }
  | { readonly ok: false; readonly error: string };

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let values: { user?: string; room?: string; url?: string; backlog?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { user: { type: 'string' }, room: { type: 'string' }, url: { type: 'string' }, backlog: { type: 'string' } },
    }));
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const user = values.user;
  const room = values.room ?? DEFAULT_ROOM;
  const url = values.url ?? DEFAULT_URL;
  const backlog = values.backlog === undefined ? DEFAULT_BACKLOG : Number(values.backlog);
  if (!user) return { ok: false, error: '--user is required' };
  if (!USER_ID_PATTERN.test(user)) return { ok: false, error: `--user must match ${USER_ID_PATTERN.source}` };
  if (!ROOM_PATTERN.test(room)) return { ok: false, error: `--room must match ${ROOM_PATTERN.source}` };
  if (!/^wss?:\/\/[^\s]+$/.test(url)) return { ok: false, error: `--url must be a ws:// or wss:// URL, got "${url}"` };
  if (!Number.isInteger(backlog) || backlog < 0 || backlog > 1000) {
    return { ok: false, error: `--backlog must be a whole number from 0 to 1000, got "${values.backlog}"` };
  }
  return { ok: true, options: { user, room, url, backlog } };
}

export type Command =
  | { readonly kind: 'send'; readonly text: string }
  | { readonly kind: 'join'; readonly room: string; readonly visibility?: 'private' }
  | { readonly kind: 'invite'; readonly user: string; readonly role: 'member' | 'admin' }
  | { readonly kind: 'remove'; readonly user: string }
  | { readonly kind: 'leave' }
  | { readonly kind: 'who' }
  | { readonly kind: 'upload'; readonly path: string }
  | { readonly kind: 'download'; readonly attachmentId: string }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'invalid'; readonly error: string };

/** One input line: a slash command, or text to send ('//' escapes a leading slash). */
export function parseInput(line: string): Command {
  if (line.trim() === '') return { kind: 'nothing' };
  if (line.startsWith('//')) return { kind: 'send', text: line.slice(1) };
  if (!line.startsWith('/')) return { kind: 'send', text: line };
  const [name = '', ...args] = line.slice(1).trim().split(/\s+/);
  switch (name.toLowerCase()) {
    case 'join': {
      const [room, visibility] = args;
      if (!room || args.length > 2 || (visibility !== undefined && visibility !== 'private')) {
        return { kind: 'invalid', error: 'usage: /join <room> [private]' };
      }
      if (!ROOM_PATTERN.test(room)) return { kind: 'invalid', error: `room must match ${ROOM_PATTERN.source}` };
      return visibility ? { kind: 'join', room, visibility } : { kind: 'join', room };
    }
    case 'invite': {
      const [user, role] = args;
      if (!user || args.length > 2 || (role !== undefined && role !== 'admin')) {
        return { kind: 'invalid', error: 'usage: /invite <user> [admin]' };
      }
      if (!USER_ID_PATTERN.test(user)) return { kind: 'invalid', error: `user must match ${USER_ID_PATTERN.source}` };
      return { kind: 'invite', user, role: role ?? 'member' };
    }
    case 'remove': {
      const [user] = args;
      if (!user || args.length > 1) return { kind: 'invalid', error: 'usage: /remove <user>' };
      if (!USER_ID_PATTERN.test(user)) return { kind: 'invalid', error: `user must match ${USER_ID_PATTERN.source}` };
      return { kind: 'remove', user };
    }
    case 'upload': {
      // The rest of the line is the path: file names may hold spaces.
      const path = line.trim().slice('/upload'.length).trim();
      return path ? { kind: 'upload', path } : { kind: 'invalid', error: 'usage: /upload <path>' };
    }
    case 'download': {
      const [attachmentId] = args;
      if (!attachmentId || args.length > 1) return { kind: 'invalid', error: 'usage: /download <id>' };
      if (!ATTACHMENT_ID_PATTERN.test(attachmentId)) return { kind: 'invalid', error: 'id must be an attachment id as shown with its message' };
      return { kind: 'download', attachmentId };
    }
    case 'leave':
      return { kind: 'leave' };
    case 'who':
      return { kind: 'who' };
    case 'help':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'invalid', error: `unknown command /${name}; /help lists them` };
  }
}

/** Local wall-clock time of an epoch-ms timestamp, as HH:MM. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Lines about a room other than the current one name it. */
function where(room: string, currentRoom: string | undefined): string {
  return room === currentRoom ? '' : `#${room} `;
}

/** "[12:01] alice: hi"; continuation lines of a multi-line text, and attachments, are indented under the first. */
export function formatMessage(message: MessageView, currentRoom: string | undefined): string {
  const head = `[${formatTime(message.ts)}] ${where(message.room, currentRoom)}${message.user}: `;
  const indent = ' '.repeat(head.length);
  const files = (message.attachments ?? []).map((a) => `${indent}[file] ${a.fileName} (${formatSize(a.size)}, ${a.contentType}) /download ${a.id}`);
  const text = message.text.split(/\r?\n/).join(`\n${indent}`);
  return [head + (text || files.shift()?.trimStart() || ''), ...files].join('\n');
}

/** 1023 B, 1.5 KB, 10.0 MB */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The content type an upload declares, from the file's extension; unknown ones are refused by the service. */
export function contentTypeOf(path: string): string {
  const types: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    pdf: 'application/pdf',
    txt: 'text/plain',
    md: 'text/plain',
    log: 'text/plain',
  };
  return types[/\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

export function formatPresence(change: PresenceChange, currentRoom: string | undefined, nowMs: number): string {
  const verb = change.event === 'join' ? 'joined' : 'left';
  return `[${formatTime(nowMs)}] * ${where(change.room, currentRoom)}${change.user} ${verb}`;
}

export function formatTyping(typing: Typing, currentRoom: string | undefined): string {
  return `        ${where(typing.room, currentRoom)}${typing.user} is typing…`;
}

export function formatJoined(joined: JoinedRoom, again: boolean): string {
  if (again) return `* rejoined ${joined.room}`;
  const more = joined.memberCount - joined.members.length;
  const listed = `${joined.members.join(', ')}${more > 0 ? ` and ${more} more (/who lists all)` : ''}`;
  const here = joined.memberCount === 1 ? 'only you here' : `${joined.memberCount} here: ${listed}`;
  return `* joined ${joined.room} (${here})`;
}

export function formatWho(room: string, members: readonly string[]): string {
  return `* in ${room}: ${members.join(', ')}`;
}

export function formatState(change: StateChange): string | undefined {
  switch (change.state) {
    case 'connecting':
      return change.attempt && change.attempt > 1 ? `* connecting (attempt ${change.attempt})` : '* connecting';
    case 'open':
      return '* connected';
    case 'reconnecting': {
      const seconds = ((change.delayMs ?? 0) / 1000).toFixed(1);
      return `* connection lost (${change.reason ?? 'unknown'}); reconnecting in ${seconds} s`;
    }
    case 'closed':
      return '* disconnected';
    case 'idle':
      return undefined;
  }
}

export function formatError(error: ChatClientError | Error): string {
  const code = 'code' in error ? `${String(error.code)}: ` : '';
  return `! ${code}${error.message}`;
}

/** Shows a user's typing once, not again within TYPING_REPEAT_MS or until their next message. */
export class TypingLines {
  private readonly shownAt = new Map<string, number>();

  show(typing: Typing, nowMs: number): boolean {
    const key = `${typing.room}\n${typing.user}`;
    const last = this.shownAt.get(key);
    if (last !== undefined && nowMs - last < TYPING_REPEAT_MS) return false;
    this.shownAt.set(key, nowMs);
    return true;
  }

  /** The user's message ends their typing: the next signal is news. */
  messageFrom(room: string, user: string): void {
    this.shownAt.delete(`${room}\n${user}`);
  }
}
