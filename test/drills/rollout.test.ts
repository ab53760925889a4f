/**
 * The deploy drill: versions of `ping` go out through `npm run rollout` (a child process with an operator's
 * credentials, the real Lambda client and the CloudWatch adapter) against a local stack under steady ping
 * traffic. A healthy version is promoted to 100%; a version that crashes (every published version runs the plan's
 * bundle locally, so its crash is the version-scoped function-crash fault) takes its step of traffic until a page
 * alarm fires, is shifted back, and the run fails; `npm run rollback` then returns the alias to the version
 * before. The drill prints how many requests the bad version served.
 */
import { GetAliasCommand, LambdaClient, PublishVersionCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { open } from '../../local/drills.ts';
import { OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { functionNameInPlan } from '../../local/plan-names.ts';
import { readRolloutTargets } from '../../ops/rollout/stage-plan.ts';
import { runAsOperator, type OperatorRun } from '../support/admin-cli.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';
import { stackDir } from '../support/plan.ts';
import { DRILL_TIME_SCALE } from './drill-suite.ts';

const STACK_DIR = stackDir('wschat-dev');
/** Each connection pings once a second, the ping route's per-connection rate. */
const SOCKETS = 8;


let stack: BootedStack;
let lambda: LambdaClient;
let fn: string;
const sockets: WebSocket[] = [];
let traffic: NodeJS.Timeout | undefined;

/** `npm run rollout|rollback -- --stage dev …` as the pipeline runs it, pointed at the local stack's endpoints. */
function runCli(command: 'rollout' | 'rollback', args: string[] = []): Promise<OperatorRun> {
  return runAsOperator('ops/rollout/cli.ts', [command, '--stage', 'dev', '--stack-dir', STACK_DIR, ...args], {
    AWS_REGION: stack.region,
    AWS_ENDPOINT_URL_LAMBDA: stack.lambdaEndpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: stack.cloudWatchEndpoint,
  });
}

/** Invocations of ping's live alias that ran `version`. */
function served(version: string): number {
  const dimensions = { FunctionName: fn, Resource: `${fn}:live`, ExecutedVersion: version };
  return stack.metrics.stat({ namespace: 'AWS/Lambda', name: 'Invocations', dimensions }, 'Sum', 0, Date.now() + 1) ?? 0;
}

async function alias() {
  return lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }));
}

async function publish(): Promise<string> {
  return (await lambda.send(new PublishVersionCommand({ FunctionName: fn }))).Version as string;
}

beforeAll(async () => {
  stack = await bootDevStack({ timeScale: DRILL_TIME_SCALE });
  fn = functionNameInPlan(stack.plan, 'ping');
  lambda = new LambdaClient({
    region: stack.region,
    endpoint: stack.lambdaEndpoint,
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
  });
  const tokens = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => stack.tokenFor(`rollout-drill-${i}`)));
  const ping = JSON.stringify({ action: 'ping' });
  const opening = new Set<number>();
  // At this time scale the gateway ends a connection after two minutes (its 2-hour limit): a closed one is
  // opened again, as a client would, so the traffic outlasts the drill.
  const tick = () => {
    tokens.forEach((token, i) => {
      const ws = sockets[i];
      if (ws && ws.readyState === ws.OPEN) return void ws.send(ping);
      if (opening.has(i) || (ws && ws.readyState !== ws.CLOSED)) return;
      opening.add(i);
      open(stack.wsUrl(token))
        .then((next) => (sockets[i] = next))
        .catch(() => undefined)
        .finally(() => opening.delete(i));
    });
  };
  tick();
  traffic = setInterval(tick, 1100);
  // The positive control: ping traffic reaches version 1 through the alias before any rollout.
  await vi.waitFor(
    () => {
      if (served('1') <= SOCKETS) throw new Error(`version 1 served ${served('1')} pings so far`);
    },
    { timeout: 60_000, interval: 200 },
  );
});

afterAll(async () => {
  clearInterval(traffic);
  for (const ws of sockets) ws.close();
  lambda?.destroy();
  await stack?.close();
});

describe('a deploy through npm run rollout', () => {
  it('promotes a healthy version to 100% after its bake, recording the version it replaced', { timeout: 180_000 }, async () => {
    const healthy = await publish();
    const run = await runCli('rollout', ['--step-percent', '50', '--bake-minutes', '0.25', '--poll-seconds', '0.5']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`${fn}: 50% to version ${healthy}, the rest on 1`);
    expect(run.stdout).toContain(`${fn}: version ${healthy} takes 100% (previous version 1)`);
    // The new version took its share of the traffic while baking.
    expect(served(healthy)).toBeGreaterThan(0);
    const promoted = await alias();
    expect(promoted).toMatchObject({ FunctionVersion: healthy });
    expect(promoted.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    expect(promoted.Description).toMatch(/^previous version 1 \(promoted /);
    // Nothing left to deploy: a second run moves nothing and succeeds.
    const again = await runCli('rollout', ['--bake-minutes', '0.1', '--poll-seconds', '0.5']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('every alias already runs its newest version');
  });

  it('shifts a crashing version back when a page alarm fires, fails the deploy, and counts what the bad version served', { timeout: 240_000 }, async () => {
    const { FunctionVersion: good } = await alias();
    const bad = await publish();
    stack.faults.inject({ kind: 'function-crash', functionName: fn, version: bad });
    const startedAt = Date.now();
    const run = await runCli('rollout', ['--step-percent', '20', '--bake-minutes', '2', '--poll-seconds', '0.5']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const firing = /ROLLED BACK 1 functions because of: (.+)$/m.exec(run.stderr)?.[1]?.split(', ') ?? [];
    expect(firing.length, run.stderr).toBeGreaterThan(0);
    // What fired is one of the plan's page alarms, and it went to ALARM during this rollout.
    const { alarms } = readRolloutTargets(STACK_DIR);
    for (const name of firing) {
      expect(alarms).toContain(name);
      expect(stack.alarms.statuses.get(name)?.history.some((h) => h.state === 'ALARM' && h.at >= startedAt)).toBe(true);
    }
    const after = await alias();
    expect(after).toMatchObject({ FunctionVersion: good });
    expect(after.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});

    const badServed = served(bad);
    console.log(`[drill] version ${bad} of ${fn} (crashing) served ${badServed} requests before ${firing.join(', ')} rolled it back`);
    expect(badServed).toBeGreaterThan(0);
    // Once back, the bad version takes nothing: the good one serves the next requests (the positive control).
    const goodBefore = served(good as string);
    await expect.poll(() => served(good as string), { timeout: 60_000 }).toBeGreaterThan(goodBefore + 2 * SOCKETS);
    expect(served(bad)).toBe(badServed);
    stack.faults.clear();
  });

  it('npm run rollback returns the alias to the version before the last promotion, once', { timeout: 120_000 }, async () => {
    const { FunctionVersion: current } = await alias();
    const run = await runCli('rollback');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`${fn}: back on version 1 (from ${current})`);
    const returned = await alias();
    expect(returned).toMatchObject({ FunctionVersion: '1', Description: `rolled back from version ${current}` });
    // The other functions were never deployed: nothing recorded, nothing moved.
    expect(run.stdout).toContain(`rollback: 1 of ${readRolloutTargets(STACK_DIR).functions.length} aliases moved`);
    const again = await runCli('rollback');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${fn}: no previous version recorded; stays on 1`);
  });
});
