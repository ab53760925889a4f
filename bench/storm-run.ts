/**
 * One storm of `npm run bench -- storm`, in a process of its own: boots the local stack on the plan it is given,
 * runs bench/storm-harness.ts against it (clients in this process, functions in its worker threads) and answers
 * with the report over IPC. It exits without closing the stack: closing would run $disconnect for every client,
 * which is not what the benchmark measures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readApiModel } from '../local/gateway/api-model.ts';
import { DEFAULT_ACCOUNT_QUOTAS } from '../local/gateway/limits.ts';
import { FunctionTargets, readProvisionedTargets } from '../local/lambda/aliases.ts';
import { startLocalStack } from '../local/stack.ts';
import { runStorm, type StormReport } from './storm-harness.ts';

export type StormRunMessage = {
  readonly kind: 'report';
  readonly report: StormReport;
  /** What the plan admits: the $connect route's throttle and the account's new-connection quota. */
  readonly throttles: { readonly connect?: { rateLimit: number; burstLimit: number }; readonly newConnectionsPerSecond: number };
  /** Provisioned environments initialized at boot, by function name. */
  readonly provisioned: Readonly<Record<string, number>>;
};

const [stackDir, clients, timeoutMs] = process.argv.slice(2);
if (!stackDir || !(Number(clients) > 0) || !(Number(timeoutMs) > 0)) throw new Error('usage: storm-run.ts <stackDir> <clients> <timeoutMs>');

const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-storm-'));
const stack = await startLocalStack({
  stackDir,
  stateDir,
  port: 0,
  quotas: DEFAULT_ACCOUNT_QUOTAS,
  // A sweep scans every table; nothing expires during a run.
  ttlSweepMs: 3_600_000,
  // Functions' failures explain slow returns; everything else (the access log repeats each of them) would drown the output.
  log: (source, line) => {
    if (source !== 'apigateway' && /timed out|"level":"ERROR"|Runtime exited/.test(line)) process.stderr.write(`${source} ${line.slice(0, 300)}\n`);
  },
});
const api = readApiModel(stack.plan);
const provisioned = readProvisionedTargets(stack.plan, FunctionTargets.fromPlan(stack.plan));
const report = await runStorm(stack, {
  clients: Number(clients),
  timeoutMs: Number(timeoutMs),
  progress: (line) => process.stderr.write(`  ${line}\n`),
});
const message: StormRunMessage = {
  kind: 'report',
  report,
  throttles: { connect: api.routeThrottles?.get('$connect') ?? api.throttle, newConnectionsPerSecond: DEFAULT_ACCOUNT_QUOTAS.newConnectionsPerSecond },
  provisioned: Object.fromEntries([...provisioned.values()].map((target) => [target.functionName, target.environments])),
};
process.send?.(message, () => {
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
});
