/**
 * `npm run load [-- --clients 1000 --sends 20000 ...]`: boots the local stack (the synthesized dev plan) and
 * runs the load scenario of bench/load-harness.ts, then prints throughput, latencies, error frames, process
 * memory and the verification result. Exit code 1 when anything was lost, duplicated or unacknowledged.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { synthesizedStackDir } from '../local/paths.ts';
import { startLocalStack } from '../local/stack.ts';
import { synthesizeIfChanged } from '../local/synth.ts';
import { runLoad } from './load-harness.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rooms: { type: 'string', default: '50' },
    'big-room': { type: 'string', default: '500' },
    sends: { type: 'string', default: '20000' },
    'big-room-share': { type: 'string', default: '0.02' },
    'spread-seconds': { type: 'string', default: '600' },
    'no-synth': { type: 'boolean', default: false },
  },
});
const number = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`error: --${name} must be a non-negative number, got "${values[name]}"`);
    process.exit(2);
  }
  return value;
};

const options = {
  clients: number('clients'),
  rooms: number('rooms'),
  bigRoomMembers: number('big-room'),
  sends: number('sends'),
  bigRoomShare: number('big-room-share'),
  spreadMs: number('spread-seconds') * 1000,
};
if (!values['no-synth']) {
  synthesizeIfChanged();
}
const stack = await startLocalStack({ stackDir: synthesizedStackDir('dev'), port: 0, stateDir: mkdtempSync(path.join(tmpdir(), 'wschat-load-')) });
console.log(`load: ${JSON.stringify(options)} against ${stack.url}`);
let peakRssMb = 0;
let peakEnvironments = 0;
const sampleMemory = () => {
  peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 2 ** 20);
  peakEnvironments = Math.max(peakEnvironments, stack.environmentCount());
};
// Sampled from boot, not by the sends' ticks: while clients connect and join, the connect path's environments
// are the larger crowd.
const sampler = setInterval(sampleMemory, 250);
const report = await runLoad({
  url: stack.url,
  tokenFor: (user) => stack.idp.mint(user),
  ...options,
});
clearInterval(sampler);
console.log(
  JSON.stringify(
    {
      ...report,
      violations: report.violations.slice(0, 20),
      violationCount: report.violations.length,
      // Counts by kind: the violation text with its user, room and seq numbers taken out.
      violationKinds: report.violations.reduce<Record<string, number>>((kinds, v) => {
        const kind = v.replace(/load-\d+/g, '<user>').replace(/(big|small-\d+)/g, '<room>').replace(/\d+/g, 'N');
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        return kinds;
      }, {}),
      // The gateway, dynalite and the function workers share this process (workers are threads).
      peakRssMb: Math.round(peakRssMb),
      // Function environments alive at most (local/lambda/environment-budget.ts) and the cold starts they took.
      peakEnvironments,
      coldStarts: Object.values(stack.coldStarts()).reduce((sum, n) => sum + n, 0),
    },
    null,
    2,
  ),
);
await stack.close();
process.exit(report.violations.length || report.gaveUp ? 1 : 0);
