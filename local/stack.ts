/**
 * Boots a synthesized stack on this machine: its tables on a DynamoDB endpoint, its bundles as Lambda-like
 * workers with the plan's environment, its API behind a local API Gateway. Everything comes from the plan.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { IDENTITY_VARIABLES } from '../infra/config/variables.ts';
import { createTables, localDynamoClient, startDynalite, startTtlSweeper, type DynamoEndpoint } from './dynamodb.ts';
import { readApiModel } from './gateway/api-model.ts';
import { Gateway } from './gateway/gateway.ts';
import { jwksHandler, loadDevIdp, LOCAL_IDP, type DevIdentityProvider } from './idp.ts';
import { FunctionPool, type FunctionDefinition, type LogSink } from './lambda/function-pool.ts';
import { LOCAL_ACCOUNT_ID, StackPlan, type PlanResource } from './plan.ts';
import { extractZip } from './zip.ts';

export interface LocalStackOptions {
  /** cdktf.out/stacks/<stack> */
  readonly stackDir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Where extracted bundles and the development signing key live. */
  readonly stateDir: string;
  /** Use this DynamoDB endpoint instead of embedded dynalite. */
  readonly dynamoEndpoint?: string;
  readonly log?: LogSink;
  readonly timeScale?: number;
  readonly ttlSweepMs?: number;
}

export interface LocalStack {
  readonly url: string;
  readonly port: number;
  readonly stage: string;
  readonly dynamoEndpoint: string;
  readonly region: string;
  readonly functions: readonly string[];
  readonly tables: readonly string[];
  readonly idp: DevIdentityProvider;
  readonly gateway: Gateway;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A stable, API-Gateway-shaped id (10 lowercase characters) per stack, so URLs survive restarts. */
function localApiId(stackDir: string): string {
  return createHash('sha1').update(path.basename(stackDir)).digest('hex').slice(0, 10);
}

/** Unpacks a function's zip once per source hash; a new bundle gets a new directory. */
function unpackBundle(plan: StackPlan, fn: PlanResource, stateDir: string): string {
  const functionName = String(fn.config.function_name);
  const hash = String(fn.config.source_code_hash ?? 'unversioned');
  const dir = path.join(stateDir, 'functions', path.basename(plan.stackDir), functionName, hash);
  if (existsSync(dir)) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  extractZip(path.join(plan.stackDir, String(fn.config.filename)), staging);
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another process unpacked the same bundle first.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log: LogSink = options.log ?? (() => undefined);
  const port = options.port || (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const plan = StackPlan.load(options.stackDir, {
    apiId: localApiId(options.stackDir),
    variables: {
      [IDENTITY_VARIABLES.issuer]: LOCAL_IDP.issuer,
      [IDENTITY_VARIABLES.audience]: LOCAL_IDP.audience,
      [IDENTITY_VARIABLES.jwksUrl]: `${base}${LOCAL_IDP.jwksPath}`,
    },
  });
  const api = readApiModel(plan);
  const idp = await loadDevIdp(options.stateDir);

  const dynalite: DynamoEndpoint | undefined = options.dynamoEndpoint ? undefined : await startDynalite();
  const dynamoEndpoint = options.dynamoEndpoint ?? (dynalite as DynamoEndpoint).endpoint;
  const dynamo = localDynamoClient(dynamoEndpoint, plan.region);
  const tables = await createTables(plan, dynamo);
  const stopSweeper = startTtlSweeper(plan, dynamo, options.ttlSweepMs ?? 5000);

  // The plan's @connections endpoint is an AWS host; locally the same API answers on the gateway's port.
  const awsApiHost = `https://${plan.apiId}.execute-api.${plan.region}.amazonaws.com`;
  const pools = new Map<string, FunctionPool>();
  for (const fn of plan.resources('aws_lambda_function')) {
    const config = plan.resolve(fn.config);
    const functionName = String(config.function_name);
    const runtime = String(config.runtime);
    if (!runtime.startsWith('nodejs')) throw new Error(`${functionName}: runtime ${runtime} cannot run locally`);
    const codeDir = unpackBundle(plan, fn, options.stateDir);
    const variables = ((config.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {}) as Record<
      string,
      string
    >;
    const planEnv = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, v.split(awsApiHost).join(base)]));
    const logGroupName = String((config.logging_config as { log_group?: string } | undefined)?.log_group ?? `/aws/lambda/${functionName}`);
    const memoryMb = Number(config.memory_size ?? 128);
    const definition: FunctionDefinition = {
      name: functionName,
      codeDir,
      handler: String(config.handler),
      arn: `arn:aws:lambda:${plan.region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
      timeoutMs: Number(config.timeout ?? 3) * 1000,
      memoryMb,
      logGroupName,
      environment: {
        ...planEnv,
        // What the Lambda service adds to every function's environment.
        AWS_REGION: plan.region,
        AWS_DEFAULT_REGION: plan.region,
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: logGroupName,
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        LAMBDA_TASK_ROOT: codeDir,
        TZ: ':UTC',
        AWS_ACCESS_KEY_ID: `LOCAL${functionName.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
        AWS_SECRET_ACCESS_KEY: 'local-secret',
        AWS_SESSION_TOKEN: 'local-session',
        // Where this machine's services answer for the AWS APIs the function calls.
        AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
        // The plan's runtime is nodejs22.x; the workers run on this machine's Node, whose SDK warning is noise.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    };
    pools.set(functionName, new FunctionPool(definition, log));
  }

  const gateway = new Gateway({
    api,
    invoke: (name, event) => {
      const pool = pools.get(name);
      if (!pool) throw new Error(`the plan routes to ${name}, which it does not define`);
      return pool.invoke(event);
    },
    log: (line) => log('apigateway', line),
    http: [jwksHandler(idp)],
    timeScale: options.timeScale,
  });
  await gateway.listen(port);

  return {
    url: `ws://127.0.0.1:${port}/${api.stage}`,
    port,
    stage: api.stage,
    dynamoEndpoint,
    region: plan.region,
    functions: [...pools.keys()],
    tables,
    idp,
    gateway,
    async close() {
      await gateway.close();
      stopSweeper();
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      dynamo.destroy();
      await dynalite?.close();
    },
  };
}
