/**
 * `npm run chat -- --user alice --room general [--url ws://127.0.0.1:8080/dev]`: a terminal chat on the
 * client library. Tokens come from the local development identity provider (the key under .local/, the one
 * `npm start` trusts); it reconnects and catches up by itself.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { loadDevIdp } from '../local/idp.ts';
import { STATE_DIR } from '../local/paths.ts';
import { postUpload } from './attachments.ts';
import { ChatClient } from './chat-client.ts';
import {
  contentTypeOf,
  formatError,
  formatJoined,
  formatMessage,
  formatPresence,
  formatState,
  formatTyping,
  formatWho,
  HELP,
  parseCliArgs,
  parseInput,
  TypingLines,
  USAGE,
} from './cli-core.ts';
import { nodeWebSocket } from './node.ts';

const parsed = parseCliArgs(process.argv.slice(2));
if (!parsed.ok) {
  console.error(`error: ${parsed.error}\n${USAGE}`);
  process.exit(2);
}
const { user, url, backlog } = parsed.options;
let room: string | undefined = parsed.options.room;

const idp = await loadDevIdp(STATE_DIR);
const client = new ChatClient({ url, token: () => idp.mint(user), webSocket: nodeWebSocket });
const interactive = Boolean(process.stdin.isTTY);
const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
const prompt = () => `${room ?? '(no room)'}> `;
rl.setPrompt(prompt());

/** Prints above the line being typed, then redraws the prompt with what was typed so far. */
function print(line: string): void {
  if (!interactive) {
    process.stdout.write(`${line}\n`);
    return;
  }
  readline.clearLine(process.stdout, 0);
  readline.cursorTo(process.stdout, 0);
  process.stdout.write(`${line}\n`);
  rl.setPrompt(prompt());
  rl.prompt(true);
}

const typingLines = new TypingLines();
const joinedBefore = new Set<string>();
client.on('message', (message) => {
  typingLines.messageFrom(message.room, message.user);
  print(formatMessage(message, room));
});
client.on('presence', (change) => print(formatPresence(change, room, Date.now())));
client.on('typing', (typing) => {
  if (typingLines.show(typing, Date.now())) print(formatTyping(typing, room));
});
client.on('joined', (joined) => {
  print(formatJoined(joined, joinedBefore.has(joined.room)));
  joinedBefore.add(joined.room);
});
client.on('state', (change) => {
  const line = formatState(change);
  if (line) print(line);
});
client.on('error', (error) => print(formatError(error)));
client.on('removed', (removal) => {
  print(`* you were removed from ${removal.room}`);
  if (room === removal.room) room = undefined;
});

/** Uploads a file straight to the bucket (presigned POST) and sends it to the room as a message of its own. */
async function uploadFile(to: string, filePath: string): Promise<void> {
  const data = await readFile(filePath);
  const fileName = path.basename(filePath);
  const contentType = contentTypeOf(fileName);
  const grant = await client.requestUpload(to, { fileName, contentType, size: data.length });
  await postUpload(grant, new Blob([data], { type: contentType }), fileName);
  await client.send(to, '', { attachments: [grant.uploadId] });
}

/** Sends still waiting for their ack: on end of input the CLI waits for them before it closes. */
const inFlight = new Set<Promise<unknown>>();
function track(promise: Promise<unknown>): void {
  const settled = promise.catch((error: Error) => print(formatError(error))).finally(() => inFlight.delete(settled));
  inFlight.add(settled);
}

async function quit(): Promise<void> {
  await Promise.allSettled([...inFlight]);
  client.close();
  rl.close();
  process.exit(0);
}

if (interactive) {
  // Keystrokes signal typing; the client sends at most one per room every 2 s.
  readline.emitKeypressEvents(process.stdin);
  process.stdin.on('keypress', () => room && client.typing(room));
}

rl.on('line', (line) => {
  const command = parseInput(line);
  switch (command.kind) {
    case 'send':
      if (!room) print('! join a room first: /join <room>');
      else track(client.send(room, command.text));
      break;
    case 'join':
      room = command.room;
      track(client.join(command.room, { backlog, ...(command.visibility ? { visibility: command.visibility } : {}) }));
      break;
    case 'invite':
      if (!room) print('! join a room first: /join <room> private');
      else track(client.invite(room, command.user, { role: command.role }).then((i) => print(`* invited ${i.user} to ${i.room} as ${i.role}`)));
      break;
    case 'remove':
      if (room) {
        const from = room;
        track(client.remove(from, command.user).then(() => print(`* removed ${command.user} from ${from}`)));
      }
      break;
    case 'leave':
      if (room) {
        const left = room;
        room = undefined;
        track(client.leave(left).then(() => print(`* left ${left}`)));
      }
      break;
    case 'who':
      if (room) {
        const asked = room;
        track(client.who(asked).then((members) => print(formatWho(asked, members))));
      }
      break;
    case 'upload':
      if (!room) print('! join a room first: /join <room>');
      else track(uploadFile(room, command.path));
      break;
    case 'download':
      if (room) track(client.download(room, command.attachmentId).then((link) => print(`* ${link.url}`)));
      break;
    case 'help':
      print(HELP);
      break;
    case 'quit':
      void quit();
      return;
    case 'invalid':
      print(`! ${command.error}`);
      break;
    case 'nothing':
      break;
  }
  rl.setPrompt(prompt());
  if (interactive) rl.prompt();
});
rl.on('close', () => void quit());

print(`* ${user} on ${url} — /help lists commands`);
track(client.join(room, { backlog }));
await client.connect();
if (interactive) rl.prompt();
