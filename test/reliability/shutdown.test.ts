/**
 * `npm start` stopped with SIGTERM in the middle of a load exits cleanly, and with a data directory every
 * acknowledged message is still in the history after a restart on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it, inject } from 'vitest';
import { loadDevIdp } from '../../local/idp.ts';
import { freePort } from '../../local/stack.ts';
import { ChatClient, type Frame } from '../support/ws-client.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
// tsx as a loader in the stack's own process, so the SIGTERM reaches main.ts's handler directly: through the tsx CLI
// (a parent that relays signals to a child) one busy run ended 143, killed by the signal, not the handler's 0.
const tsxLoader = createRequire(import.meta.url).resolve('tsx');
const running: ChildProcess[] = [];

function spawnStart(port: number, dataDir: string, stateDir: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', pathToFileURL(tsxLoader).href, 'local/main.ts', '--no-synth', '--cdktf-out', inject('synthDir'), '--port', String(port), '--data-dir', dataDir, '--state-dir', stateDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  return child;
}

/** Starts `npm start`'s entry point on the test synthesis and resolves with its URL once it prints it. */
function start(port: number, dataDir: string, stateDir: string): Promise<{ child: ChildProcess; url: string; output: string[] }> {
  const child = spawnStart(port, dataDir, stateDir);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const url = /^(ws:\/\/127\.0\.0\.1:\d+\/\w+)$/m.exec(output.join(''))?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before serving:\n${output.join('')}`)));
  });
}

afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});

it('exits cleanly on SIGTERM during sends and keeps every acknowledged message across a restart', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'wschat-data-'));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-state-'));
  const idp = await loadDevIdp(stateDir);
  const port = await freePort();
  const first = await start(port, dataDir, stateDir);
  const sender = await ChatClient.connect(`${first.url}?token=${await idp.mint('persistent')}`);
  await sender.request({ action: 'join', room: 'durable' }, 'joined');

  const acked = new Map<string, number>();
  let i = 0;
  const sending = setInterval(() => sender.send({ action: 'send', room: 'durable', text: `m${i}`, clientMsgId: `d-${i++}` }), 20);
  sender.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    if (frame.type === 'ack') acked.set(String(frame.clientMsgId), frame.seq as number);
  });
  await expect.poll(() => acked.size, { timeout: 60_000 }).toBeGreaterThan(20);

  const exited = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
  first.child.kill('SIGTERM');
  expect(await exited).toBe(0);
  clearInterval(sending);
  expect(first.output.join('')).toMatch(/SIGTERM: closing connections and stopping/);
  expect(acked.size).toBeGreaterThan(20);

  const second = await start(port, dataDir, stateDir);
  const reader = await ChatClient.connect(`${second.url}?token=${await idp.mint('persistent')}`);
  await reader.request({ action: 'join', room: 'durable' }, 'joined');
  const stored: Frame[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await reader.request({ action: 'history', room: 'durable', afterSeq, limit: 100 }, 'history');
    stored.push(...(page.messages as Frame[]));
    if (!page.hasMore) break;
    afterSeq = stored[stored.length - 1]?.seq as number;
  }
  const storedSeqs = new Set(stored.map((m) => m.seq));
  for (const [clientMsgId, seq] of acked) expect(storedSeqs.has(seq), `${clientMsgId} (seq ${seq})`).toBe(true);
  expect(stored.map((m) => m.seq)).toEqual(stored.map((_, index) => index + 1));
  await reader.close();
  second.child.kill('SIGTERM');
});

it('refuses a port another process listens on, naming it and the way out, before booting anything', { timeout: 60_000 }, async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const child = spawnStart(port, mkdtempSync(path.join(tmpdir(), 'wschat-data-')), mkdtempSync(path.join(tmpdir(), 'wschat-state-')));
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, stderr: stderr.join('') }).toEqual({ code: 2, stderr: `error: port ${port} is in use; pass --port <n> or set PORT\n` });
  } finally {
    taken.close();
  }
});
