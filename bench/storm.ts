/**
 * `npm run bench -- storm [--clients 5000] [--provisioned on|off|both] [--timeout-s 300]`: a reconnect storm on the
 * local stack (bench/storm-harness.ts), with the prod plan's provisioned concurrency on the dev plan (on), the dev
 * plan as it is (off), or one after the other (both). Each mode runs its clients in a process of its own
 * (bench/storm-run.ts) and its stack in another (bench/storm-stack.ts), so the clients' CPU is not on the thread
 * that runs the gateway and DynamoDB. Prints the time until every client is back and caught up, handshakes
 * throttled and retried, cold starts and messages lost, against the plan's throttles and the target.
 * docs/operations.md#spikes holds the figures.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, synthesizedStackDir } from '../local/paths.ts';
import { loadAverage, revision } from './run-context.ts';
import { forkServer } from './servers.ts';
import type { Distribution } from './storm-harness.ts';
import { provisionedPlanDir } from './storm-plan.ts';
import type { StormRunMessage } from './storm-run.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    clients: { type: 'string', default: '5000' },
    provisioned: { type: 'string', default: 'both' },
    'timeout-s': { type: 'string', default: '300' },
  },
});
if (positionals[0] !== 'storm') throw new Error(`unknown benchmark ${positionals[0] ?? '(none)'}; this is storm`);
const clients = Number(values.clients);
const timeoutMs = Number(values['timeout-s']) * 1000;
const MODES = { off: ['off'], on: ['on'], both: ['off', 'on'] } as const;
if (!Number.isInteger(clients) || clients < 1) throw new Error('--clients must be a whole number >= 1');
if (!Object.hasOwn(MODES, values.provisioned)) throw new Error('--provisioned must be on, off or both');
if (!(timeoutMs > 0)) throw new Error('--timeout-s must be a positive number');
const modes: readonly ('on' | 'off')[] = MODES[values.provisioned as keyof typeof MODES];

const devDir = synthesizedStackDir('dev');
const prodDir = synthesizedStackDir('prod');
for (const dir of modes.includes('on') ? [devDir, prodDir] : [devDir]) {
  if (!existsSync(path.join(dir, 'cdk.tf.json'))) throw new Error(`${dir} has no plan: run npm run synth first`);
}

/** The issue's target on this machine. */
const TARGET = { clients: 5000, seconds: 60 } as const;


const seconds = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(1)} s`);
const spread = (d: Distribution) => `p50 ${seconds(d.p50)}, p99 ${seconds(d.p99)}, last ${seconds(d.max)}`;

console.log(`storm: ${clients.toLocaleString('en-US')} clients, provisioned concurrency ${modes.join(' then ')}; the storm times out after ${timeoutMs / 1000} s (setup after 20 min)`);
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, load average ${loadAverage()}; ` +
    `node ${process.version}; commit ${revision()}; ${new Date().toISOString()}`,
);

const results: { mode: string; message: StormRunMessage }[] = [];
const failedModes: string[] = [];
for (const mode of modes) {
  const stackDir = mode === 'on' ? provisionedPlanDir(devDir, prodDir) : devDir;
  console.log(`\nprovisioned concurrency ${mode}: booting ${path.relative(REPO_ROOT, stackDir) || stackDir}`);
  const run = forkServer<StormRunMessage>(path.join(REPO_ROOT, 'bench', 'storm-run.ts'), [stackDir, String(clients), String(timeoutMs)]);
  const message = await run.next('report').catch((error: unknown) => {
    // Its own error is on stderr above: a setup that timed out (the machine too busy), a stack that failed to boot.
    console.log(`  no report: ${(error as Error).message}`);
    failedModes.push(mode);
    return undefined;
  });
  await run.stop();
  if (!message) continue;
  results.push({ mode, message });
  const { report: r, throttles, provisioned } = message;
  const connect = throttles.connect ? `${throttles.connect.rateLimit}/s, burst ${throttles.connect.burstLimit}` : 'none';
  const cold = Object.entries(r.coldStarts).map(([fn, n]) => `${fn} ${n}`).join(', ') || 'none';
  const warm = Object.entries(provisioned).map(([fn, n]) => `${fn} ${n}`).join(', ') || 'none';
  console.log(`  plan: $connect throttle ${connect}; account ${throttles.newConnectionsPerSecond} new connections/s; provisioned environments: ${warm}`);
  console.log(
    `  layout: ${r.users} users × ${r.connectionsPerUser} connections, ${r.rooms} rooms of ${r.usersPerRoom} users; ` +
      `setup ${seconds(r.setupSeconds)}; dropped ${r.dropped}`,
  );
  console.log(`  back (re-joined): ${spread(r.backSeconds)}; ${r.notBack} not back`);
  console.log(`  caught up: ${spread(r.caughtUpSeconds)}; ${r.notCaughtUp} not caught up`);
  console.log(
    `  handshakes after the drop: ${r.handshakes.attempts} (${r.handshakes.retried} retries): ` +
      `${r.handshakes.throttled} refused with 429 (a throttle, or the user's connection slots still held), ${r.handshakes.failed} with 5xx`,
  );
  console.log(`  cold starts during the storm: ${cold}`);
  console.log(
    `  messages: ${r.messages.beforeDrop} before the drop, ${r.messages.duringStorm} during the storm ` +
      `(${r.messages.owedToClientsDown} deliveries owed to clients still down when acknowledged; ${r.messages.sendsFailed} sends failed)`,
  );
  console.log(`  lost ${r.audit.lost}, duplicated ${r.audit.duplicated}, foreign ${r.audit.foreign}${r.audit.examples.length ? `: ${r.audit.examples.join('; ')}` : ''}`);
}
console.log(`\nload average at the end: ${loadAverage()}`);

let pass = failedModes.length === 0;
for (const mode of failedModes) console.log(`provisioned ${mode}: FAIL: the storm did not run to its end`);
for (const { mode, message } of results) {
  const { report: r } = message;
  const last = r.caughtUpSeconds.max;
  const withinTarget = r.complete && last !== undefined && last <= TARGET.seconds;
  const judged = r.clients >= TARGET.clients;
  pass &&= r.complete && (!judged || withinTarget);
  const verdict = !r.complete
    ? `FAIL: ${r.notCaughtUp} not caught up, ${r.audit.lost} lost`
    : !judged
      ? `all back and caught up in ${seconds(last)}, nothing lost (the target is judged at ${TARGET.clients.toLocaleString('en-US')} clients)`
      : withinTarget
        ? `PASS: all back and caught up in ${seconds(last)}, nothing lost`
        : `FAIL: all back and caught up in ${seconds(last)}, ${seconds((last as number) - TARGET.seconds)} over`;
  console.log(`provisioned ${mode}: ${TARGET.clients.toLocaleString('en-US')} clients back and resumed within ${TARGET.seconds} s, 0 lost: ${verdict}`);
}
process.exitCode = pass ? 0 : 1;
