/**
 * `npm run soak -- --minutes 10`: steady moderate traffic on the local stack; prints every minute the process's
 * RSS (the gateway and the function workers share it), the main thread's heap after a full collection, open
 * handles, live function environments, what the bounded observability stores hold, and the RSS of DynamoDB.
 * DynamoDB (dynalite) runs in its own process: it holds every message sent, in memory, so it grows by design as a
 * table does, and in the stack's process it would hide the stack's own trend. Fails when the stack's RSS or open
 * handles grew more than 10% after warm-up: the mean of the last three samples against the mean of the first
 * three after warm-up, so one garbage-collection swing in a single sample neither fails nor passes it.
 * Each sample follows a lull of a few seconds without sends: keep-alive sockets the function workers open to the
 * gateway and to DynamoDB under load are closed by the servers after 5 s idle, so what is still open then is held
 * rather than in use, which is what a leak looks like.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { REPO_ROOT, synthesizedStackDir } from '../local/paths.ts';
import { startLocalStack } from '../local/stack.ts';
import type { ServerMessage } from './connection-server.ts';
import { forkServer } from './servers.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'warmup-minutes': { type: 'string', default: '3' },
    clients: { type: 'string', default: '50' },
    'sends-per-second': { type: 'string', default: '20' },
  },
});
const minutes = Number(values.minutes);
const warmupMinutes = Number(values['warmup-minutes']);
const clientCount = Number(values.clients);
const rate = Number(values['sends-per-second']);
if (!(minutes > 0) || !(clientCount > 0) || !(rate > 0) || !Number.isInteger(warmupMinutes) || warmupMinutes < 0) {
  console.error('error: --minutes, --clients and --sends-per-second must be positive numbers, --warmup-minutes a whole number');
  process.exit(2);
}
// Growth compares the first samples after warm-up with the last ones: with a single sample it would be 0 always.
if (minutes < warmupMinutes + 2) {
  console.error(`error: --minutes (${minutes}) must exceed --warmup-minutes (${warmupMinutes}) by at least 2, so there are two samples to compare`);
  process.exit(2);
}
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (!collectGarbage) {
  console.error('error: run with --expose-gc (npm run soak does): the heap is only comparable after a collection');
  process.exit(2);
}

const dynamodb = forkServer<ServerMessage>(path.join(REPO_ROOT, 'bench', 'connection-server.ts'), ['dynamodb'], ['--expose-gc']);
const { url: dynamoEndpoint } = await dynamodb.next('ready');
const stack = await startLocalStack({
  stackDir: synthesizedStackDir('dev'),
  port: 0,
  stateDir: mkdtempSync(path.join(tmpdir(), 'wschat-soak-')),
  dynamoEndpoint,
});
/** Longer than Node's 5 s keep-alive timeout, which the gateway's and DynamoDB's HTTP servers keep. */
const LULL_MS = 7_000;
const clients: WebSocket[] = [];
for (let i = 0; i < clientCount; i++) {
  const ws = new WebSocket(`${stack.url}?token=${await stack.idp.mint(`soak-${i}`)}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ action: 'join', room: `soak-${i % 5}` }));
  clients.push(ws);
}
let sent = 0;
let lull = false;
const traffic = setInterval(() => {
  if (lull) return;
  const i = sent++ % clients.length;
  clients[i]?.send(JSON.stringify({ action: 'send', room: `soak-${i % 5}`, text: `soak ${sent}`, clientMsgId: `s-${sent}` }));
  if (sent % 10 === 0) clients[(i + 1) % clients.length]?.send(JSON.stringify({ action: 'history', room: `soak-${(i + 1) % 5}`, limit: 20 }));
}, 1000 / rate);

type Sample = {
  minute: number;
  rssMb: number;
  heapMb: number;
  handles: number;
  environments: number;
  logMb: number;
  traceSegments: number;
  metricPoints: number;
  dynamodbMb: number;
  sent: number;
};
const samples: Sample[] = [];
const sample = async (minute: number): Promise<Sample> => {
  const dynamodbMemory = await dynamodb.ask('sample', 'sample');
  collectGarbage();
  const memory = process.memoryUsage();
  return {
    minute,
    rssMb: Math.round(memory.rss / 2 ** 20),
    heapMb: Math.round(memory.heapUsed / 2 ** 20),
    // Open handles (sockets, timers, workers' ports) the event loop holds.
    handles: (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
    environments: stack.environmentCount(),
    logMb: Math.round((stack.logs.size / 2 ** 20) * 10) / 10,
    traceSegments: stack.traces.segments,
    metricPoints: stack.metrics.datapoints,
    dynamodbMb: Math.round(dynamodbMemory.rssBytes / 2 ** 20),
    sent,
  };
};
const columns: [keyof Sample, string][] = [
  ['minute', 'minute'],
  ['rssMb', 'rss MB'],
  ['heapMb', 'heap MB'],
  ['handles', 'handles'],
  ['environments', 'environments'],
  ['logMb', 'logs MB'],
  ['traceSegments', 'trace segments'],
  ['metricPoints', 'metric points'],
  ['dynamodbMb', 'dynamodb MB'],
  ['sent', 'sends'],
];
console.log(columns.map(([, title]) => title).join('  '));
for (let minute = 1; minute <= minutes; minute++) {
  await sleep(60_000 - LULL_MS);
  lull = true;
  await sleep(LULL_MS);
  const s = await sample(minute);
  samples.push(s);
  lull = false;
  console.log(columns.map(([key, title]) => String(s[key]).padStart(title.length)).join('  '));
}
clearInterval(traffic);
for (const ws of clients) ws.close();
await stack.close();
await dynamodb.stop();

// Warm-up: cold starts, JIT, the environment pools reaching their size and the stores filling to their bounds.
const steady = samples.slice(warmupMinutes);
const window = Math.max(1, Math.min(3, Math.floor(steady.length / 2)));
const mean = (of: Sample[], key: 'rssMb' | 'handles') => of.reduce((sum, s) => sum + s[key], 0) / of.length;
const growth = (key: 'rssMb' | 'handles') => mean(steady.slice(-window), key) / mean(steady.slice(0, window), key) - 1;
const rssGrowth = growth('rssMb');
const handleGrowth = growth('handles');
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
console.log(
  `after ${warmupMinutes} min of warm-up, mean of the last ${window} samples against the first ${window}: ` +
    `RSS ${percent(rssGrowth)}, open handles ${percent(handleGrowth)} (limit 10%)`,
);
process.exit(rssGrowth > 0.1 || handleGrowth > 0.1 ? 1 : 0);
