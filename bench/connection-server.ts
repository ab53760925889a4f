/**
 * The server side of bench/connections.ts, each in its own process so its memory is measured alone:
 * - `raw`: a bare `ws` server;
 * - `dynamodb`: the embedded DynamoDB (dynalite) the gateway's functions write connection records to;
 * - `gateway <stackDir> <dynamodbEndpoint>`: the local stack booted from the synthesized dev plan, on that DynamoDB.
 * Answers `sample` requests over IPC after a full garbage collection with the process RSS and the main thread's
 * heap and external memory. The gateway first ends its idle function environments (Lambda's memory, not API
 * Gateway's, and hundreds of MB that grow and shrink with their own garbage), and reports what the observability
 * stores gathered since the last sample, measured by emptying them; so the bench can tell the gateway's own memory
 * from the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { startDynalite } from '../local/dynamodb.ts';
import { startLocalStack } from '../local/stack.ts';

export type ServerMode = 'raw' | 'dynamodb' | 'gateway';

export interface MemorySample {
  readonly kind: 'sample';
  readonly rssBytes: number;
  /** The main thread's heap and external memory (where the gateway keeps its connections). */
  readonly heapBytes: number;
  readonly connections: number;
  /** Bytes the log, trace and metric stores had gathered since the previous sample; they are emptied at each. */
  readonly storeBytes?: { readonly logs: number; readonly traces: number; readonly metrics: number };
}

export type ServerMessage = { readonly kind: 'ready'; readonly url: string; readonly stateDir?: string } | MemorySample;

const [mode, ...args] = process.argv.slice(2) as [ServerMode, ...string[]];
const reply = (message: ServerMessage) => process.send?.(message);
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (!collectGarbage) throw new Error('run with --expose-gc: RSS is only comparable after a collection');
const heapBytes = () => {
  collectGarbage();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.external;
};

let sample: () => Promise<MemorySample>;
let cleanUp = () => undefined as void;
if (mode === 'raw') {
  // What API Gateway offers: no permessage-deflate (ws's server default, spelled out).
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  sample = async () => ({ kind: 'sample', heapBytes: heapBytes(), rssBytes: process.memoryUsage().rss, connections: wss.clients.size });
  reply({ kind: 'ready', url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` });
} else if (mode === 'dynamodb') {
  const dynamodb = await startDynalite();
  sample = async () => ({ kind: 'sample', heapBytes: heapBytes(), rssBytes: process.memoryUsage().rss, connections: 0 });
  reply({ kind: 'ready', url: dynamodb.endpoint });
} else if (mode === 'gateway' && args.length === 2) {
  const [stackDir, dynamoEndpoint] = args as [string, string];
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-bench-'));
  const stack = await startLocalStack({
    stackDir,
    stateDir,
    port: 0,
    dynamoEndpoint,
    // The bench measures this machine, not AWS's 500 per second account quota.
    quotas: { newConnectionsPerSecond: 1_000_000 },
    ttlSweepMs: 3_600_000,
    // Failures explain a handshake the bench saw rejected; everything else would drown the output.
    log: (source, line) => {
      if (/timed out|"level":"ERROR"|Runtime exited/.test(line)) process.stderr.write(`${source} ${line}\n`);
    },
  });
  /** The heap one store's contents hold: measured by emptying it. */
  const emptied = (store: { clear(): void }) => {
    const before = heapBytes();
    store.clear();
    return Math.max(0, before - heapBytes());
  };
  sample = async () => {
    await stack.discardIdleEnvironments();
    const storeBytes = { logs: emptied(stack.logs), traces: emptied(stack.traces), metrics: emptied(stack.metrics) };
    return { kind: 'sample', heapBytes: heapBytes(), rssBytes: process.memoryUsage().rss, connections: stack.gateway.connectionCount, storeBytes };
  };
  cleanUp = () => rmSync(stateDir, { recursive: true, force: true });
  reply({ kind: 'ready', url: stack.url, stateDir });
} else {
  throw new Error('usage: connection-server.ts raw | dynamodb | gateway <stackDir> <dynamodbEndpoint>');
}

process.on('message', (message) => {
  if (message === 'sample') void sample().then(reply);
});
process.on('disconnect', () => {
  cleanUp();
  process.exit(0);
});
