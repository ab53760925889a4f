/**
 * The server side of bench/connections.ts, in its own process so its memory is measured alone: either the local
 * stack booted from the synthesized dev plan, or a bare `ws` server. Answers `rss` requests over IPC after a GC
 * with the process RSS and the main thread's heap and external memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { startLocalStack } from '../local/stack.ts';

export type ServerMode = 'gateway' | 'raw';
export type ServerMessage =
  | { readonly kind: 'ready'; readonly url: string; readonly stateDir?: string }
  | { readonly kind: 'rss'; readonly rssBytes: number; readonly heapBytes: number; readonly connections: number };

const [mode, stackDir] = process.argv.slice(2) as [ServerMode, string | undefined];
const reply = (message: ServerMessage) => process.send?.(message);
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (!collectGarbage) throw new Error('run with --expose-gc: RSS is only comparable after a collection');

let connections: () => number;
let cleanUp = () => undefined as void;
if (mode === 'raw') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  connections = () => wss.clients.size;
  reply({ kind: 'ready', url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` });
} else if (mode === 'gateway' && stackDir) {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-bench-'));
  const stack = await startLocalStack({
    stackDir,
    stateDir,
    port: 0,
    // The bench measures this machine, not AWS's 500 per second account quota.
    quotas: { newConnectionsPerSecond: 1_000_000 },
    ttlSweepMs: 3_600_000,
    // Failures explain a handshake the bench saw rejected; everything else would drown the output.
    log: (source, line) => {
      if (/timed out|"level":"ERROR"|Runtime exited/.test(line)) process.stderr.write(`${source} ${line}\n`);
    },
  });
  connections = () => stack.gateway.connectionCount;
  cleanUp = () => rmSync(stateDir, { recursive: true, force: true });
  reply({ kind: 'ready', url: stack.url, stateDir });
} else {
  throw new Error(`usage: connection-server.ts raw | gateway <stackDir>`);
}

process.on('message', (message) => {
  if (message !== 'rss') return;
  collectGarbage();
  collectGarbage();
  const memory = process.memoryUsage();
  // heapUsed and external are this (main) thread's only; the gateway keeps its connections here, not in the workers.
  reply({ kind: 'rss', rssBytes: memory.rss, heapBytes: memory.heapUsed + memory.external, connections: connections() });
});
process.on('disconnect', () => {
  cleanUp();
  process.exit(0);
});
