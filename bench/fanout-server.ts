/**
 * The servers of bench/fanout.ts, each in its own process so the clients' CPU is not counted as theirs: the local
 * stack booted from the synthesized dev plan, or a bare `ws` server that answers each send request by
 * broadcasting a message frame to every client, the way the stack's send would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { TABLE_KEYS, type TableKey } from '../functions/catalog/tables.ts';
import { messageFrame } from '../functions/domain/protocol.ts';
import { resourceName, STAGES, type StageName } from '../infra/config/stages.ts';
import { DEFAULT_ACCOUNT_QUOTAS, type AccountQuotas } from '../local/gateway/limits.ts';
import type { FunctionCpu } from '../local/lambda/function-pool.ts';
import { startLocalStack, type LocalStack } from '../local/stack.ts';

export type FanoutServerMode = 'stack' | 'raw';
export type FanoutServerMessage =
  | {
      readonly kind: 'stack-ready';
      readonly url: string;
      readonly stateDir: string;
      /** The DynamoDB endpoint itself, not the functions' proxy: fixture writes are no function's calls. */
      readonly dynamoEndpoint: string;
      readonly region: string;
      readonly tables: Readonly<Record<TableKey, string>>;
      readonly quotas: AccountQuotas;
    }
  | { readonly kind: 'raw-ready'; readonly url: string }
  /**
   * CPU time the process has used so far, every thread included (the stack's function workers are threads); its
   * main thread's (the gateway, DynamoDB), and for the stack each function's environments' (local/lambda/worker.ts).
   */
  | {
      readonly kind: 'cpu';
      readonly micros: number;
      readonly mainThreadMicros: number;
      readonly functions: Readonly<Record<string, FunctionCpu>>;
    };

const [mode, stage, stackDir] = process.argv.slice(2) as [FanoutServerMode, StageName | undefined, string | undefined];

/** A function's error log line without its stack trace. */
function failureOf(line: string): string {
  try {
    const { errorType, errorMessage } = JSON.parse(line) as { errorType?: string; errorMessage?: string };
    if (errorMessage) return `${errorType ?? 'Error'}: ${errorMessage}`;
  } catch {
    // Not JSON: the runtime's own line (a timeout, an exited runtime).
  }
  return line;
}

const reply = (message: FanoutServerMessage) => process.send?.(message);
let cleanUp = () => undefined as void;
let localStack: LocalStack | undefined;

if (mode === 'raw') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  let seq = 0;
  wss.on('connection', (ws, req) => {
    // Identity comes from the URL here, as it comes from the token on the stack.
    const user = new URL(req.url ?? '/', 'http://localhost').searchParams.get('user') ?? 'anonymous';
    ws.on('message', (data) => {
      const request = JSON.parse(data.toString()) as { room: string; text: string };
      const frame = messageFrame({ room: request.room, seq: ++seq, id: randomUUID(), user, text: request.text, ts: Date.now() });
      // Serialized once for everyone: the cheapest broadcast a bare server can do.
      const bytes = Buffer.from(JSON.stringify(frame));
      for (const client of wss.clients) client.send(bytes, { binary: false });
    });
  });
  reply({ kind: 'raw-ready', url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` });
} else if (mode === 'stack' && stage && stackDir) {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-fanout-bench-'));
  // AWS's defaults; the bench reports any quota changed here.
  const quotas: AccountQuotas = DEFAULT_ACCOUNT_QUOTAS;
  const stack = await startLocalStack({
    stackDir,
    stateDir,
    port: 0,
    quotas,
    // A sweep scans every table, thousands of fixture items included; nothing expires during a run.
    ttlSweepMs: 3_600_000,
    // Failures explain missing deliveries and retried handshakes; everything else would drown the output.
    log: (source, line) => {
      if (/timed out|"level":"ERROR"|Runtime exited/.test(line)) process.stderr.write(`${source} ${failureOf(line)}\n`);
    },
  });
  localStack = stack;
  cleanUp = () => rmSync(stateDir, { recursive: true, force: true });
  // Infra names every table with the one naming convention; the stack must have created each of them.
  const tables = Object.fromEntries(TABLE_KEYS.map((key) => [key, resourceName(STAGES[stage], key)])) as Record<TableKey, string>;
  const missing = Object.values(tables).filter((name) => !stack.tables.includes(name));
  if (missing.length) throw new Error(`the stack has no table ${missing.join(', ')}; it has ${stack.tables.join(', ')}`);
  reply({
    kind: 'stack-ready',
    url: stack.url,
    stateDir,
    dynamoEndpoint: stack.dynamoEndpoint,
    region: stack.region,
    tables,
    quotas,
  });
} else {
  throw new Error('usage: fanout-server.ts raw | stack <stage> <stackDir>');
}

process.on('message', (message) => {
  if (message !== 'cpu') return;
  const whole = process.cpuUsage();
  const main = process.threadCpuUsage();
  reply({
    kind: 'cpu',
    micros: whole.user + whole.system,
    mainThreadMicros: main.user + main.system,
    functions: localStack?.functionCpu() ?? {},
  });
});
// Exits without closing the gateway: closing would run $disconnect for every member, each announcing a departure
// to the rest of the room, which is not what the benchmark measures.
process.on('disconnect', () => {
  cleanUp();
  process.exit(0);
});
