/**
 * `npm run soak -- --minutes 10`: steady moderate traffic on the local stack; prints RSS, heap and open
 * handles of the process (gateway, dynalite and function workers share it) every minute, and fails when
 * either grew more than 10% after warm-up.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { synthesizedStackDir } from '../local/paths.ts';
import { startLocalStack } from '../local/stack.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, clients: { type: 'string', default: '50' }, 'sends-per-second': { type: 'string', default: '20' } } });
const minutes = Number(values.minutes);
const clientCount = Number(values.clients);
const rate = Number(values['sends-per-second']);
if (!(minutes > 0) || !(clientCount > 0) || !(rate > 0)) {
  console.error('error: --minutes, --clients and --sends-per-second must be positive numbers');
  process.exit(2);
}

const stack = await startLocalStack({ stackDir: synthesizedStackDir('dev'), port: 0, stateDir: mkdtempSync(path.join(tmpdir(), 'wschat-soak-')) });
const clients: WebSocket[] = [];
for (let i = 0; i < clientCount; i++) {
  const ws = new WebSocket(`${stack.url}?token=${await stack.idp.mint(`soak-${i}`)}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ action: 'join', room: `soak-${i % 5}` }));
  clients.push(ws);
}
let sent = 0;
const traffic = setInterval(() => {
  const i = sent++ % clients.length;
  clients[i]?.send(JSON.stringify({ action: 'send', room: `soak-${i % 5}`, text: `soak ${sent}`, clientMsgId: `s-${sent}` }));
  if (sent % 10 === 0) clients[(i + 1) % clients.length]?.send(JSON.stringify({ action: 'history', room: `soak-${(i + 1) % 5}`, limit: 20 }));
}, 1000 / rate);

type Sample = { minute: number; rssMb: number; heapMb: number; handles: number; sent: number };
const samples: Sample[] = [];
const sample = (minute: number): Sample => {
  const memory = process.memoryUsage();
  // Open handles (sockets, timers, workers' ports) the event loop holds.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  return { minute, rssMb: Math.round(memory.rss / 2 ** 20), heapMb: Math.round(memory.heapUsed / 2 ** 20), handles, sent };
};
console.log('minute  rss MB  heap MB  handles  sends');
for (let minute = 1; minute <= minutes; minute++) {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  const s = sample(minute);
  samples.push(s);
  console.log(`${String(s.minute).padStart(6)}  ${String(s.rssMb).padStart(6)}  ${String(s.heapMb).padStart(7)}  ${String(s.handles).padStart(7)}  ${s.sent}`);
}
clearInterval(traffic);
for (const ws of clients) ws.close();
await stack.close();

// The first minute warms up (cold starts, JIT); growth is measured from the second sample on.
const base = samples[Math.min(1, samples.length - 1)] as Sample;
const last = samples[samples.length - 1] as Sample;
const growth = (from: number, to: number) => (to - from) / from;
const rssGrowth = growth(base.rssMb, last.rssMb);
const handleGrowth = growth(base.handles, last.handles);
console.log(`after warm-up: RSS ${(rssGrowth * 100).toFixed(1)}%, open handles ${(handleGrowth * 100).toFixed(1)}% (limit 10%)`);
process.exit(rssGrowth > 0.1 || handleGrowth > 0.1 ? 1 : 0);
