/**
 * `npm run bench -- connections [--count 10000] [--rounds 3] [--timeout-s 300]`: holds COUNT idle WebSocket
 * connections on the local gateway (the synthesized dev plan: authorizer and $connect run for each) and on a bare
 * `ws` server, one server process each, clients in this process, loopback only. Reports server RSS and main-thread
 * heap+external per connection, their ratios and the connect rate. Target (issue #20): in every round, both ratios
 * at most 1.2x the bare server's (issue #6's was the median round's RSS ratio at most 2x). Each round starts fresh
 * servers. Memory per connection is the least-squares slope over eleven samples taken while the connections are
 * opened, so one-time growth does not count; every sample follows a full garbage collection, and both servers run with one malloc arena, so memory
 * freed by threads that come and go (the gateway's function workers) is not left behind in arenas of their own.
 *
 * The gateway process also runs what API Gateway does not hold: the function environments (Lambda's memory; the
 * idle ones are ended before each sample, as Lambda reclaims them) and the observability stores (CloudWatch's and
 * X-Ray's; emptied at each sample and reported apart). Its DynamoDB, where $connect writes each connection's
 * record, runs in a third process whose growth is reported apart too. So the ratio compares the gateway's own
 * memory with the bare server's, and the other lines say what the rest of the local stack keeps per connection.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadDevIdp } from '../local/idp.ts';
import { REPO_ROOT, synthesizedStackDir } from '../local/paths.ts';
import type { MemorySample, ServerMessage, ServerMode } from './connection-server.ts';
import { IDLE_MEMORY_TARGET as TARGET_RATIO, idleMemoryVerdict, type RoundRatios } from './connections-verdict.ts';
import { forkServer } from './servers.ts';
import { closeAll } from './sockets.ts';
import { median } from './statistics.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, 'timeout-s': { type: 'string', default: '300' } },
});
if (positionals[0] !== 'connections') throw new Error(`unknown benchmark ${positionals[0] ?? '(none)'}; available: connections`);
const count = Number(values.count);
const rounds = Number(values.rounds);
/** Each round's connections must open within this many ms. */
const timeoutMs = Number(values['timeout-s']) * 1000;
if (!Number.isInteger(count) || count < 1) throw new Error('--count must be a whole number >= 1');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number >= 1');
if (!(timeoutMs > 0)) throw new Error('--timeout-s must be a positive number');
const stackDir = synthesizedStackDir('dev');
if (!existsSync(path.join(stackDir, 'cdk.tf.json'))) throw new Error(`${stackDir} has no plan: run npm run synth first`);
/** Handshakes in flight at once: the local pool's 16 environments per function, each kept busy twice over. */
const IN_FLIGHT = 32;

interface Server {
  readonly child: ChildProcess;
  readonly ready: Extract<ServerMessage, { kind: 'ready' }>;
  sample(): Promise<MemorySample>;
}

async function startServer(mode: ServerMode, args: readonly string[] = []): Promise<Server> {
  const server = forkServer<ServerMessage>(path.join(REPO_ROOT, 'bench', 'connection-server.ts'), [mode, ...args], ['--expose-gc'], {
    ...process.env,
    MALLOC_ARENA_MAX: '1',
  });
  const ready = await server.next('ready');
  return { child: server.child, ready, sample: () => server.ask('sample', 'sample') };
}

class Retryable extends Error {
  constructor(readonly status: number) {
    super(`handshake answered ${status}`);
  }
}

/**
 * Handshakes answered 429 (the plan's $connect route throttle) or 5xx (an authorizer or $connect invocation that
 * failed, e.g. a cold start timing out on a loaded machine), each retried after a pause as a client would.
 */
const retriedHandshakes = { throttled: 0, failed: 0 };
const RETRY_PAUSE_MS = 100;

function open(url: string): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject((res.statusCode ?? 0) === 429 || (res.statusCode ?? 0) >= 500 ? new Retryable(res.statusCode ?? 0) : new Error(`handshake answered ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

async function openAll(urls: readonly string[], deadline: number): Promise<{ sockets: WebSocket[]; seconds: number }> {
  const sockets: WebSocket[] = [];
  const started = performance.now();
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < urls.length) {
      if (Date.now() > deadline) throw new Error(`timed out with ${sockets.length} of ${urls.length} connections open`);
      const url = urls[nextIndex++] as string;
      for (;;) {
        try {
          sockets.push(await open(url));
          break;
        } catch (error) {
          if (!(error instanceof Retryable) || Date.now() > deadline) throw error;
          if (error.status === 429) retriedHandshakes.throttled++;
          else retriedHandshakes.failed++;
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { sockets, seconds: (performance.now() - started) / 1000 };
}

/** Samples after the warm-up step. */
const SAMPLES = 10;

/** Least-squares slope of y over x. */
function slope(x: readonly number[], y: readonly number[]): number {
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  const covariance = x.reduce((sum, xi, i) => sum + (xi - mx) * ((y[i] as number) - my), 0);
  const variance = x.reduce((sum, xi) => sum + (xi - mx) ** 2, 0);
  return covariance / variance;
}

interface Measurement {
  readonly mode: ServerMode;
  readonly rssPerConnection: number;
  readonly heapPerConnection: number;
  readonly connectsPerSecond: number;
  readonly held: number;
  /** The gateway's observability stores, per connection opened while sampling. */
  readonly storesPerConnection?: { readonly logs: number; readonly traces: number; readonly metrics: number };
  /** The DynamoDB process's growth per connection: the connection records. */
  readonly database?: { readonly rss: number; readonly heap: number };
}

async function measure(mode: 'raw' | 'gateway', database?: Server): Promise<Measurement> {
  const server = await startServer(mode, mode === 'gateway' ? [stackDir, (database as Server).ready.url] : []);
  try {
    let urls: string[] = Array.from({ length: count }, () => server.ready.url);
    if (mode === 'gateway') {
      const idp = await loadDevIdp(server.ready.stateDir as string);
      const token = (i: number) => idp.mint(`bench-${i}`);
      urls = await Promise.all(urls.map(async (url, i) => `${url}?token=${encodeURIComponent(await token(i))}`));
    }
    // The connections open in SAMPLES + 1 steps; the first also warms up (cold starts, JIT, the allocator's arenas),
    // so the first sample follows it.
    const samples: MemorySample[] = [];
    const databaseSamples: MemorySample[] = [];
    const sockets: WebSocket[] = [];
    let seconds = 0;
    const deadline = Date.now() + timeoutMs;
    for (let step = 0; step <= SAMPLES; step++) {
      const opened = await openAll(urls.slice(Math.floor((step * count) / (SAMPLES + 1)), Math.floor(((step + 1) * count) / (SAMPLES + 1))), deadline);
      sockets.push(...opened.sockets);
      seconds += opened.seconds;
      samples.push(await server.sample());
      if (database) databaseSamples.push(await database.sample());
    }
    await closeAll(sockets);
    const held = samples.map((s) => s.connections);
    const opened = (held.at(-1) as number) - (held[0] as number);
    // The first sample's stores hold the warm-up step's; every later one what its own step's connections left.
    const stored = (store: 'logs' | 'traces' | 'metrics') => samples.slice(1).reduce((sum, s) => sum + (s.storeBytes?.[store] ?? 0), 0) / opened;
    return {
      mode,
      rssPerConnection: slope(held, samples.map((s) => s.rssBytes)),
      heapPerConnection: slope(held, samples.map((s) => s.heapBytes)),
      connectsPerSecond: count / seconds,
      held: held.at(-1) as number,
      storesPerConnection: mode === 'gateway' ? { logs: stored('logs'), traces: stored('traces'), metrics: stored('metrics') } : undefined,
      database: database
        ? { rss: slope(held, databaseSamples.map((s) => s.rssBytes)), heap: slope(held, databaseSamples.map((s) => s.heapBytes)) }
        : undefined,
    };
  } finally {
    server.child.disconnect();
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const judgedRounds: RoundRatios[] = [];
let allHeld = true;
for (let round = 1; round <= rounds; round++) {
  const raw = await measure('raw');
  const database = await startServer('dynamodb');
  const gateway = await measure('gateway', database).finally(() => database.child.disconnect());
  const ratio = gateway.rssPerConnection / raw.rssPerConnection;
  const heapRatio = gateway.heapPerConnection / raw.heapPerConnection;
  const measurable = gateway.rssPerConnection > 0 && raw.rssPerConnection > 0 && gateway.heapPerConnection > 0 && raw.heapPerConnection > 0;
  judgedRounds.push({ rss: ratio, heap: heapRatio, measurable });
  allHeld &&= gateway.held === count && raw.held === count;
  console.log(`round ${round} of ${rounds}`);
  for (const m of [raw, gateway]) {
    console.log(
      `  ${m.mode.padEnd(8)} ${m.held} held  RSS ${kib(m.rssPerConnection)}/connection  main-thread heap+external ${kib(m.heapPerConnection)}/connection  ${m.connectsPerSecond.toFixed(0)} connects/s`,
    );
  }
  const stores = gateway.storesPerConnection as NonNullable<Measurement['storesPerConnection']>;
  const db = gateway.database as NonNullable<Measurement['database']>;
  console.log(
    `  beside the gateway, per connection: observability stores ${kib(stores.logs + stores.traces + stores.metrics)} ` +
      `(logs ${kib(stores.logs)}, traces ${kib(stores.traces)}, metrics ${kib(stores.metrics)}; bounded, they stop growing once full), ` +
      `DynamoDB RSS ${kib(db.rss)} (heap+external ${kib(db.heap)})`,
  );
  const judged = (r: number) => `${r.toFixed(2)}x (target <= ${TARGET_RATIO}x) ${r <= TARGET_RATIO ? 'met' : 'MISSED'}`;
  console.log(`  main-thread heap+external per connection, gateway / raw ws: ${judged(heapRatio)}`);
  console.log(`  RSS per connection, gateway / raw ws: ${judged(ratio)}`);
}
console.log(
  `gateway handshakes retried after ${RETRY_PAUSE_MS} ms: ${retriedHandshakes.throttled} throttled (429, the plan's $connect ` +
    `route throttle), ${retriedHandshakes.failed} failed (5xx)`,
);
const verdict = idleMemoryVerdict(judgedRounds);
const ratios = judgedRounds.map((r) => r.rss);
const listed = (values: readonly number[]) => `[${values.map((r) => r.toFixed(2)).join(', ')}]`;
console.log(
  `gateway / raw ws per connection in each of ${rounds} round(s): RSS ${listed(ratios)}, main-thread heap+external ` +
    `${listed(judgedRounds.map((r) => r.heap))} (target: every one <= ${TARGET_RATIO}x; median RSS ${(median(ratios) as number).toFixed(2)}x) ` +
    (verdict === 'INCONCLUSIVE' ? `${verdict} (memory did not grow with the connections in some round: use a larger --count)` : verdict),
);
process.exitCode = verdict === 'PASS' && allHeld ? 0 : 1;
