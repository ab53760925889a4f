/**
 * Lambda on the local stack: the context object, the plan's timeout and reserved concurrency, and the Invoke API
 * (synchronous, asynchronous with retries and an on-failure destination, IAM) reached with the real
 * @aws-sdk/client-lambda, from a test and from a function. The plan copy adds small fixture functions.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFunction, bootEditedStack, GATED_HANDLER, resourceOf } from '../support/plan-copy.ts';
import { localLambdaClient, useStack } from '../support/local-stack.ts';
import { FunctionClock } from '../../local/lambda/function-clock.ts';

let lambda: LambdaClient;
const decoder = new TextDecoder();
const TIME_SCALE = 600; // async retries after 60 s and 120 s take 100 ms and 200 ms

const ECHO = `
export const handler = async (event, context) => {
  console.log('EVENT ' + JSON.stringify(event));
  return { event, context: { awsRequestId: context.awsRequestId, functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn, remainingMs: context.getRemainingTimeInMillis() } };
};`;
const SLOW = `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.sleepMs)); return 'slept'; };`;
/** An Init phase longer than the 1 s timeout: Lambda does not count it against the invocation. */
const SLOW_INIT = `
const until = Date.now() + 1500;
while (Date.now() < until);
export const handler = async (event, context) => ({ remainingMs: context.getRemainingTimeInMillis() });`;
/** Spends CPU, not wall time, in Init and in each invocation: a thread's CPU is what the pool accounts. */
const SPINNING = `
const spin = (ms) => { const until = process.threadCpuUsage().user + ms * 1000; while (process.threadCpuUsage().user < until); };
spin(50);
export const handler = async (event) => { spin(event.cpuMs); return 'spun'; };`;
const BROKEN_INIT = `throw new RangeError('configuration missing'); export const handler = async () => 'never';`;
const FAILING = `export const handler = async () => { throw new TypeError('always fails'); };`;
const CALLER = `
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
const lambda = new LambdaClient({ maxAttempts: 1 });
export const handler = async (event) => {
  try {
    const out = await lambda.send(new InvokeCommand({ FunctionName: event.target, Payload: JSON.stringify(event.payload) }));
    return { statusCode: out.StatusCode, payload: JSON.parse(new TextDecoder().decode(out.Payload)) };
  } catch (error) {
    return { error: error.name, message: error.message };
  }
};`;

async function invoke(functionName: string, payload: unknown, invocationType?: 'Event' | 'RequestResponse') {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload), InvocationType: invocationType }));
  return { status: out.StatusCode, functionError: out.FunctionError, payload: out.Payload?.length ? JSON.parse(decoder.decode(out.Payload)) : undefined };
}

/** The functions' clock, which one test moves: the time left must stay real time. */
const functionClock = new FunctionClock();

const { stack, connect } = useStack(() =>
  bootEditedStack(
    (plan, dir) => {
      const region = (plan.provider as { aws: { region: string }[] }).aws[0]?.region as string;
      const echo = addFunction(plan, dir, { id: 'echo', source: ECHO });
      addFunction(plan, dir, { id: 'slow', source: SLOW, timeout: 1 });
      addFunction(plan, dir, { id: 'gated', source: GATED_HANDLER, timeout: 60, reservedConcurrency: 1 });
      addFunction(plan, dir, { id: 'failing', source: FAILING });
      addFunction(plan, dir, { id: 'slow-init', source: SLOW_INIT, timeout: 1 });
      addFunction(plan, dir, { id: 'broken-init', source: BROKEN_INIT });
      addFunction(plan, dir, { id: 'spinning', source: SPINNING });
      addFunction(plan, dir, {
        id: 'caller',
        source: CALLER,
        statements: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: `arn:aws:lambda:${region}:000000000000:function:${echo}` }],
      });
      plan.resource.aws_lambda_function_event_invoke_config = {
        fixture_failing_async: {
          function_name: '${aws_lambda_function.fixture_failing.function_name}',
          maximum_retry_attempts: 2,
          destination_config: { on_failure: { destination: '${aws_lambda_function.fixture_echo.arn}' } },
        },
      };
      // A gated function with one provisioned environment on its alias, and one on the dev plan's $connect alias.
      addFunction(plan, dir, { id: 'warm', source: GATED_HANDLER, timeout: 60, reservedConcurrency: 2 });
      (plan.resource.aws_lambda_function!.fixture_warm as Record<string, unknown>).publish = true;
      (plan.resource.aws_lambda_alias ??= {}).fixture_warm_live = {
        name: 'live',
        function_name: '${aws_lambda_function.fixture_warm.function_name}',
        function_version: '${aws_lambda_function.fixture_warm.version}',
      };
      const provisioned = (resourceId: string) => ({
        service_namespace: 'lambda',
        scalable_dimension: 'lambda:function:ProvisionedConcurrency',
        resource_id: resourceId,
        min_capacity: 1,
        max_capacity: 2,
      });
      plan.resource.aws_appautoscaling_target = {
        fixture_warm: provisioned('function:${aws_lambda_alias.fixture_warm_live.function_name}:${aws_lambda_alias.fixture_warm_live.name}'),
        fixture_connect: provisioned('function:wschat-dev-connect:live'),
      };
      // Echo publishes its version and has an alias, as the plan's own functions do.
      (plan.resource.aws_lambda_function!.fixture_echo as Record<string, unknown>).publish = true;
      (plan.resource.aws_lambda_alias ??= {}).fixture_echo_live = {
        name: 'live',
        function_name: '${aws_lambda_function.fixture_echo.function_name}',
        function_version: '${aws_lambda_function.fixture_echo.version}',
      };
      // The who route's function may not run at all.
      resourceOf(plan, 'aws_lambda_function', 'who').reserved_concurrent_executions = 0;
    },
    { timeScale: TIME_SCALE, functionClock },
  ),
);

beforeAll(() => {
  lambda = localLambdaClient(stack);
});

afterAll(() => {
  lambda?.destroy();
});

describe('the context object', () => {
  it('carries the request id, function name and ARN, and the time left before the plan timeout', async () => {
    const before = Date.now();
    const { status, payload } = await invoke('wschat-dev-echo', { hello: 'world' });
    const elapsed = Date.now() - before;
    expect(status).toBe(200);
    expect(payload.event).toEqual({ hello: 'world' });
    expect(payload.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.context.functionName).toBe('wschat-dev-echo');
    expect(payload.context.invokedFunctionArn).toBe(`arn:aws:lambda:${stack.region}:000000000000:function:wschat-dev-echo`);
    // The 3 s deadline was set within the call, so at most the call's whole duration can have been used up.
    expect(payload.context.remainingMs).toBeLessThanOrEqual(3000);
    expect(payload.context.remainingMs).toBeGreaterThanOrEqual(3000 - elapsed);
  });

  it("counts the time left in real time when a test has moved the functions' clock", async () => {
    functionClock.advance(3_600_000);
    const before = Date.now();
    const { payload } = await invoke('wschat-dev-echo', {});
    const elapsed = Date.now() - before;
    // Date in the function reads an hour ahead, but its deadline is as far away as without the move.
    expect(payload.context.remainingMs).toBeLessThanOrEqual(3000);
    expect(payload.context.remainingMs).toBeGreaterThanOrEqual(3000 - elapsed);
  });
});

describe("each function's CPU", () => {
  it("accounts each environment's thread CPU to its function, Init apart, and keeps it after the environment ends", async () => {
    const cpu = () => stack.functionCpu()['wschat-dev-spinning'];
    expect(cpu()).toEqual({ initMicros: 0, invokeMicros: 0 });
    expect(await invoke('wschat-dev-spinning', { cpuMs: 120 })).toMatchObject({ status: 200, payload: 'spun' });
    const first = cpu();
    expect(first?.initMicros).toBeGreaterThanOrEqual(50_000);
    expect(first?.invokeMicros).toBeGreaterThanOrEqual(120_000);
    await invoke('wschat-dev-spinning', { cpuMs: 80 });
    expect(cpu()?.initMicros).toBe(first?.initMicros);
    expect(cpu()?.invokeMicros).toBeGreaterThanOrEqual((first?.invokeMicros ?? 0) + 80_000);
    const before = cpu();
    await stack.discardIdleEnvironments();
    expect(cpu()).toEqual(before);
  });
});

describe('the plan timeout and reserved concurrency', () => {
  it('kills an invocation that outlives the timeout and reports Sandbox.Timedout', async () => {
    const coldStarts = () => stack.printed.filter((line) => line.startsWith('wschat-dev-slow INIT cold start')).length;
    expect((await invoke('wschat-dev-slow', { sleepMs: 1 })).payload).toBe('slept');
    const warm = coldStarts();
    const { status, functionError, payload } = await invoke('wschat-dev-slow', { sleepMs: 5000 });
    expect(status).toBe(200);
    expect(functionError).toBe('Unhandled');
    expect(payload).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' });
    // The timed-out environment was killed, not left running: the next invocation starts a new one.
    expect((await invoke('wschat-dev-slow', { sleepMs: 1 })).payload).toBe('slept');
    expect(coldStarts()).toBe(warm + 1);
  });

  it("runs the Init phase outside the invocation's timeout", async () => {
    const { status, functionError, payload } = await invoke('wschat-dev-slow-init', {});
    expect(functionError).toBeUndefined();
    expect(status).toBe(200);
    expect(payload.remainingMs).toBeLessThanOrEqual(1000);
    expect(stack.printed.some((line) => /^wschat-dev-slow-init INIT cold start (\d+) ms$/.test(line) && Number(line.split(' ').at(-2)) >= 1500)).toBe(true);
  });

  it('answers every invocation of a function whose Init fails with its error, trying a fresh Init each time', async () => {
    for (let i = 0; i < 2; i++) {
      const { status, functionError, payload } = await invoke('wschat-dev-broken-init', {});
      expect(status).toBe(200);
      expect(functionError).toBe('Unhandled');
      expect(payload).toMatchObject({ errorType: 'RangeError', errorMessage: 'configuration missing' });
    }
    expect(stack.printed.filter((line) => line.startsWith('wschat-dev-broken-init') && line.includes('"Init Error"'))).toHaveLength(2);
  });

  it('throttles invocations beyond reserved_concurrent_executions with TooManyRequestsException', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'wschat-gate-')), 'open');
    const holding = invoke('wschat-dev-gated', { gate });
    await expect.poll(() => stack.printed.some((line) => line.includes(`HOLDING ${gate}`)), { timeout: 30_000 }).toBe(true);
    const second = await invoke('wschat-dev-gated', { gate }).catch((e: unknown) => e as Error & { Reason?: string });
    expect(second).toMatchObject({ name: 'TooManyRequestsException', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    writeFileSync(gate, '');
    expect(await holding).toMatchObject({ status: 200, payload: 'released' });
    // The released environment takes the next invocation.
    expect(await invoke('wschat-dev-gated', { gate })).toMatchObject({ status: 200, payload: 'released' });
  });

  it('counts reserved concurrency as claimed even while idle: ClaimedAccountConcurrency is executions plus reservations', async () => {
    const since = Date.now();
    expect(await invoke('wschat-dev-echo', { hello: 'claimed' })).toMatchObject({ status: 200 });
    const max = (name: string) => stack.metrics.stat({ namespace: 'AWS/Lambda', name, dimensions: {} }, 'Maximum', since, Date.now() + 1);
    // Every reservation counts whole (the dev plan's, the gated and warm fixtures', who's 0), plus echo running.
    const reserved = stack.plan
      .resources('aws_lambda_function')
      .reduce((sum, fn) => sum + (fn.config.reserved_concurrent_executions === undefined ? 0 : Number(fn.config.reserved_concurrent_executions)), 0);
    expect(reserved).toBeGreaterThan(3);
    expect(max('ConcurrentExecutions')).toBe(1);
    expect(max('ClaimedAccountConcurrency')).toBe(reserved + 1);
  });

  it('throttles a route whose function reserves 0: the client gets an error frame, Lambda counts Throttles', async () => {
    const client = await connect('alice');
    client.send({ action: 'who', room: 'lobby' });
    expect(await client.next((f) => f.message === 'Internal server error')).toMatchObject({ connectionId: expect.any(String) });
    const throttles = stack.metrics.stat({ namespace: 'AWS/Lambda', name: 'Throttles', dimensions: { FunctionName: 'wschat-dev-who' } }, 'Sum', 0, Date.now() + 1);
    expect(throttles).toBe(1);
    await client.close();
  });
});

describe('provisioned concurrency', () => {
  const aliasMetric = (functionName: string, name: string, stat: 'Sum' | 'Maximum') =>
    stack.metrics.stat({ namespace: 'AWS/Lambda', name, dimensions: { FunctionName: functionName, Resource: `${functionName}:live` } }, stat, 0, Date.now() + 1);
  const initLines = (functionName: string, kind: 'provisioned' | 'cold start') =>
    stack.printed.filter((line) => line.startsWith(`${functionName} INIT ${kind} `));

  it("initializes the alias's provisioned environments at boot: the first $connect through it is warm", async () => {
    expect(initLines('wschat-dev-connect', 'provisioned')).toHaveLength(1);
    const served = aliasMetric('wschat-dev-connect', 'ProvisionedConcurrencyInvocations', 'Sum') ?? 0;
    await connect('provisioned-carol');
    expect(aliasMetric('wschat-dev-connect', 'ProvisionedConcurrencyInvocations', 'Sum')).toBe(served + 1);
    expect(aliasMetric('wschat-dev-connect', 'ProvisionedConcurrencySpilloverInvocations', 'Sum'), 'no spillover datapoint').toBeUndefined();
    expect(initLines('wschat-dev-connect', 'cold start')).toEqual([]);
    // The authorizer, which nothing provisions here, cold-started for the same handshake.
    expect(initLines('wschat-dev-authorizer', 'cold start')).not.toHaveLength(0);
  });

  it('runs an invocation beyond the provisioned environments on demand (a cold start), counted as spillover', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'wschat-warm-')), 'open');
    const holding = () => stack.printed.filter((line) => line.startsWith('wschat-dev-warm') && line.includes(`HOLDING ${gate}`)).length;
    const first = invoke('wschat-dev-warm:live', { gate });
    await expect.poll(holding).toBe(1);
    expect(initLines('wschat-dev-warm', 'provisioned')).toHaveLength(1);
    expect(initLines('wschat-dev-warm', 'cold start')).toEqual([]);
    const second = invoke('wschat-dev-warm:live', { gate });
    await expect.poll(holding).toBe(2);
    expect(initLines('wschat-dev-warm', 'cold start')).toHaveLength(1);
    writeFileSync(gate, '');
    expect((await Promise.all([first, second])).map((r) => r.payload)).toEqual(['released', 'released']);
    expect(aliasMetric('wschat-dev-warm', 'ProvisionedConcurrencyInvocations', 'Sum')).toBe(1);
    expect(aliasMetric('wschat-dev-warm', 'ProvisionedConcurrencySpilloverInvocations', 'Sum')).toBe(1);
    expect(aliasMetric('wschat-dev-warm', 'ProvisionedConcurrencyUtilization', 'Maximum')).toBe(1);
  });

  it('does not serve an unqualified invocation from the provisioned environments', async () => {
    const before = initLines('wschat-dev-warm', 'cold start').length;
    await stack.discardIdleEnvironments();
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'wschat-warm-')), 'open');
    writeFileSync(gate, '');
    expect((await invoke('wschat-dev-warm', { gate })).payload).toBe('released');
    expect(initLines('wschat-dev-warm', 'cold start')).toHaveLength(before + 1);
    expect(aliasMetric('wschat-dev-warm', 'ProvisionedConcurrencyInvocations', 'Sum')).toBe(1);
  });
});

describe('the Invoke API', () => {
  it('retries a failing async event twice, then sends a destination record to the on-failure function', async () => {
    expect((await invoke('wschat-dev-failing', { order: 42 }, 'Event')).status).toBe(202);
    const recorded = () => stack.printed.find((line) => line.startsWith('wschat-dev-echo EVENT') && line.includes('RetriesExhausted'));
    await expect.poll(recorded, { timeout: 10_000 }).toBeDefined();
    const record = JSON.parse((recorded() as string).slice('wschat-dev-echo EVENT '.length));
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        functionArn: `arn:aws:lambda:${stack.region}:000000000000:function:wschat-dev-failing:$LATEST`,
      },
      requestPayload: { order: 42 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'TypeError', errorMessage: 'always fails' },
    });
    expect(stack.printed.filter((line) => line.startsWith('wschat-dev-failing') && line.includes('"errorMessage":"always fails"'))).toHaveLength(3);
  });

  it('lets a function invoke another with the real client, within its role policy', async () => {
    const allowed = await invoke('wschat-dev-caller', { target: 'wschat-dev-echo', payload: { via: 'caller' } });
    expect(allowed.payload).toMatchObject({ statusCode: 200, payload: { event: { via: 'caller' } } });
    const denied = await invoke('wschat-dev-caller', { target: 'wschat-dev-slow', payload: { sleepMs: 1 } });
    expect(denied.payload).toEqual({
      error: 'AccessDeniedException',
      message:
        `User: arn:aws:sts::000000000000:assumed-role/wschat-dev-caller-fn/wschat-dev-caller is not authorized to perform: lambda:InvokeFunction ` +
        `on resource: arn:aws:lambda:${stack.region}:000000000000:function:wschat-dev-slow because no identity-based policy allows the lambda:InvokeFunction action`,
    });
  });

  it("invokes through the plan's alias, by name:alias or Qualifier, running the version it points at", async () => {
    const payload = new TextEncoder().encode('{"via":"alias"}');
    const byName = await lambda.send(new InvokeCommand({ FunctionName: 'wschat-dev-echo:live', Payload: payload }));
    const byQualifier = await lambda.send(new InvokeCommand({ FunctionName: 'wschat-dev-echo', Qualifier: 'live', Payload: payload }));
    const byVersion = await lambda.send(new InvokeCommand({ FunctionName: 'wschat-dev-echo:1', Payload: payload }));
    const unqualified = await lambda.send(new InvokeCommand({ FunctionName: 'wschat-dev-echo', Payload: payload }));
    expect([byName, byQualifier, byVersion, unqualified].map((out) => [out.StatusCode, out.ExecutedVersion])).toEqual([
      [200, '1'],
      [200, '1'],
      [200, '1'],
      [200, '$LATEST'],
    ]);
    expect(JSON.parse(decoder.decode(byName.Payload))).toMatchObject({ event: { via: 'alias' } });
  });

  it('answers an alias or version the plan lacks with ResourceNotFoundException, and two different qualifiers with InvalidParameterValueException', async () => {
    const failure = (input: { FunctionName: string; Qualifier?: string }) =>
      lambda.send(new InvokeCommand({ ...input, Payload: new TextEncoder().encode('{}') })).catch((e: unknown) => e) as Promise<Error & { $metadata: { httpStatusCode: number } }>;
    const noAlias = await failure({ FunctionName: 'wschat-dev-echo:blue' });
    expect([noAlias.name, noAlias.$metadata.httpStatusCode, noAlias.message]).toEqual([
      'ResourceNotFoundException',
      404,
      `Function not found: arn:aws:lambda:${stack.region}:000000000000:function:wschat-dev-echo:blue`,
    ]);
    // The slow fixture does not publish: it has $LATEST only.
    expect((await failure({ FunctionName: 'wschat-dev-slow', Qualifier: '1' })).name).toBe('ResourceNotFoundException');
    expect((await failure({ FunctionName: 'wschat-dev-echo:live', Qualifier: '1' })).name).toBe('InvalidParameterValueException');
  });

  it("authorizes an invoke through an alias on the alias's ARN: a grant on the unqualified function does not cover it", async () => {
    const denied = await invoke('wschat-dev-caller', { target: 'wschat-dev-echo:live', payload: {} });
    expect(denied.payload).toEqual({
      error: 'AccessDeniedException',
      message:
        `User: arn:aws:sts::000000000000:assumed-role/wschat-dev-caller-fn/wschat-dev-caller is not authorized to perform: lambda:InvokeFunction ` +
        `on resource: arn:aws:lambda:${stack.region}:000000000000:function:wschat-dev-echo:live because no identity-based policy allows the lambda:InvokeFunction action`,
    });
  });

  it('answers unknown functions, bad payloads and bad invocation types as Lambda does', async () => {
    const missing = (await invoke('wschat-dev-nope', {}).catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode: number } };
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.$metadata.httpStatusCode).toBe(404);
    const notJson = (await lambda
      .send(new InvokeCommand({ FunctionName: 'wschat-dev-echo', Payload: new TextEncoder().encode('{nope') }))
      .catch((e: unknown) => e)) as Error;
    expect(notJson.name).toBe('InvalidRequestContentException');
    const dryRun = await lambda.send(new InvokeCommand({ FunctionName: 'wschat-dev-echo', InvocationType: 'DryRun' }));
    expect(dryRun.StatusCode).toBe(204);
    const tooBig = (await invoke('wschat-dev-echo', { pad: 'x'.repeat(1024 * 1024) }, 'Event').catch((e: unknown) => e)) as Error;
    expect(tooBig.name).toBe('RequestEntityTooLargeException');
  });
});
