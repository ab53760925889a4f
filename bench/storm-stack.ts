/**
 * The stack of one `npm run bench -- storm` mode, in a process of its own: boots the local stack on the plan it is
 * given and answers bench/storm-run.ts, whose process runs the storm's clients, over IPC. Its main thread runs only
 * what a deployment's servers would (the gateway, `@connections`, DynamoDB, the identity provider's JWKS) and the
 * functions run in its worker threads; the clients' sockets, handshakes and token signing are the other process's
 * CPU. Requests: `cold-starts` (the Lambda pools' counters), `drop` (every connection cut at the gateway).
 *
 * It exits when the client process disconnects, without closing the stack: closing would run $disconnect for
 * every client, which is not what the benchmark measures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readApiModel } from '../local/gateway/api-model.ts';
import { DEFAULT_ACCOUNT_QUOTAS } from '../local/gateway/limits.ts';
import { FunctionTargets, readProvisionedTargets } from '../local/lambda/aliases.ts';
import { startLocalStack } from '../local/stack.ts';
import { stormLimits, type StormLimits } from './storm-harness.ts';

export type StormStackMessage =
  | {
      readonly kind: 'ready';
      readonly url: string;
      /** Holds the development identity provider's signing key: the clients mint their tokens with it (local/idp.ts). */
      readonly stateDir: string;
      readonly limits: StormLimits;
      /** What the plan admits: the $connect route's throttle and the account's new-connection quota. */
      readonly throttles: { readonly connect?: { rateLimit: number; burstLimit: number }; readonly newConnectionsPerSecond: number };
      /** Provisioned environments initialized at boot, by function name. */
      readonly provisioned: Readonly<Record<string, number>>;
    }
  | { readonly kind: 'cold-starts'; readonly coldStarts: Readonly<Record<string, number>> }
  | { readonly kind: 'dropped'; readonly count: number };

const [stackDir] = process.argv.slice(2);
if (!stackDir) throw new Error('usage: storm-stack.ts <stackDir>');
const reply = (message: StormStackMessage) => process.send?.(message);

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

process.on('message', (request) => {
  if (request === 'cold-starts') reply({ kind: 'cold-starts', coldStarts: stack.coldStarts() });
  else if (request === 'drop') reply({ kind: 'dropped', count: stack.gateway.dropAllConnections() });
});
process.on('disconnect', () => {
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
});
reply({
  kind: 'ready',
  url: stack.url,
  stateDir,
  limits: stormLimits(stack),
  throttles: { connect: api.routeThrottles?.get('$connect') ?? api.throttle, newConnectionsPerSecond: DEFAULT_ACCOUNT_QUOTAS.newConnectionsPerSecond },
  provisioned: Object.fromEntries([...provisioned.values()].map((target) => [target.functionName, target.environments])),
});
