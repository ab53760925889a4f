/**
 * Boots a synthesized stack on this machine: its tables on a DynamoDB endpoint, its bundles as Lambda-like
 * workers with the plan's environment, its API behind a local API Gateway. Everything comes from the plan.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ATTACHMENT_CORS_VARIABLE, CANARY_VARIABLES, IDENTITY_VARIABLES } from '../infra/config/variables.ts';
import { operatorPolicyName } from '../infra/constructs/operators.ts';
import { chatPageHandler } from './chat-page.ts';
import { DynamoProxy } from './dynamodb-proxy.ts';
import { createTables, localDynamoClient, startDynalite, startTtlSweeper, type DynamoEndpoint } from './dynamodb.ts';
import { FaultController, faultsHandler } from './faults.ts';
import { readApiModel } from './gateway/api-model.ts';
import { Gateway } from './gateway/gateway.ts';
import type { AccountQuotas } from './gateway/limits.ts';
import { dynamodbAuthorizations, functionAccessKeyId, Iam, OPERATOR_ACCESS_KEY_ID } from './iam.ts';
import { localEndpointGuard } from './local-endpoints.ts';
import { clientCredentialsHandler, jwksHandler, loadDevIdp, LOCAL_IDP, tokenHandler, type DevIdentityProvider, type MachineClient } from './idp.ts';
import { EnvironmentBudget, type BudgetSettings } from './lambda/environment-budget.ts';
import type { FunctionClock } from './lambda/function-clock.ts';
import { FunctionPool, type FunctionDefinition, type InvocationRecord, type FunctionCpu, type LogSink } from './lambda/function-pool.ts';
import { FunctionTargets, qualifiedName, readProvisionedTargets, type FunctionTarget } from './lambda/aliases.ts';
import { LambdaInvokeApi, readAsyncConfigs } from './lambda/invoke-api.ts';
import { lambdaServiceEnvironment } from './lambda/service-environment.ts';
import { AlarmEvaluator, metricRetentionMs, readAlarms, type AlarmStatus } from './observability/alarm-evaluator.ts';
import { LocalCloudWatchApi } from './observability/cloudwatch-api.ts';
import { dashboardHandler } from './observability/dashboard.ts';
import { ingestEmf } from './observability/emf.ts';
import { LogStore } from './observability/log-store.ts';
import { MetricStore } from './observability/metric-store.ts';
import { newTraceContext, XrayCollector } from './observability/xray.ts';
import { LOCAL_ACCOUNT_ID, StackPlan, type Json, type PlanResource } from './plan.ts';
import { listenOnLoopback } from './loopback-server.ts';
import { LocalSns } from './sns.ts';
import { LocalS3, type LocalBucket } from './s3.ts';
import { readSchedules, runSchedules } from './schedules.ts';
import { LocalSecrets } from './secrets-manager.ts';
import { LocalQueues } from './sqs.ts';
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
  /** Keep the embedded DynamoDB's data in this directory, so a restart finds it again. */
  readonly dataDir?: string;
  readonly log?: LogSink;
  /** Compresses alarm periods and connection time limits (60 = one minute passes in one second). */
  readonly timeScale?: number;
  /** The clock the gateway's throttles refill and its connections expire on (default: the wall clock); tests pass a virtual one. */
  readonly gatewayClock?: () => number;
  /** The clock the functions read (Date), when a test wants to stop and move it (default: the wall clock). */
  readonly functionClock?: FunctionClock;
  readonly ttlSweepMs?: number;
  readonly onAlarm?: (status: AlarmStatus) => void;
  /**
   * Values for the plan's other variables, as an SRE's tfvars: e.g. `page_alarm_https_endpoints` makes SNS post
   * page notifications to those (locally also http://) URLs.
   */
  readonly variables?: Readonly<Record<string, Json>>;
  /** Account quotas other than AWS's defaults (they are raisable on AWS; tests lower them). */
  readonly quotas?: Partial<AccountQuotas>;
  /**
   * Run the plan's EventBridge schedules (the canary every minute, compressed by the time scale). `npm start` and
   * the canary's drill and tests do; other stacks do not (default false): a compressed minute at a time scale of 60
   * is one second, less than a canary run takes on a busy machine, and the canary's connections and invocations
   * would be counted in tests that count everything. Without schedules, alarms fed by a scheduled function are
   * not evaluated (their silence says nothing).
   */
  readonly runSchedules?: boolean;
  /** Function environments kept alive across all functions (local/lambda/environment-budget.ts; default 32). */
  readonly environmentBudget?: BudgetSettings;
}

export interface LocalStack {
  readonly url: string;
  readonly port: number;
  readonly stage: string;
  readonly dynamoEndpoint: string;
  /** The DynamoDB endpoint functions are given: per-table metrics, faults and IAM enforcement sit on it. */
  readonly functionsDynamoEndpoint: string;
  readonly region: string;
  readonly functions: readonly string[];
  /** The plan's Lambda runtimes (e.g. nodejs22.x) beside the Node that runs the local workers (threads of this process). */
  readonly nodeRuntime: { readonly plan: readonly string[]; readonly local: string };
  readonly tables: readonly string[];
  readonly timeScale: number;
  /** Whether the plan's schedules (the canary) run in this stack. */
  readonly runsSchedules: boolean;
  readonly idp: DevIdentityProvider;
  readonly gateway: Gateway;
  readonly metrics: MetricStore;
  readonly alarms: AlarmEvaluator;
  readonly faults: FaultController;
  readonly logs: LogStore;
  readonly traces: XrayCollector;
  /** The roles and policies every function's AWS calls are checked against. */
  readonly iam: Iam;
  /** The local Lambda API (Invoke), as AWS_ENDPOINT_URL_LAMBDA tells the functions. */
  readonly lambdaEndpoint: string;
  readonly lambda: LambdaInvokeApi;
  /** CloudWatch's DescribeAlarms (Query protocol) over the local alarm evaluator: what a rollout watches. */
  readonly cloudWatchEndpoint: string;
  /** The plan's SQS queues (the fan-out dead-letter queue), as AWS_ENDPOINT_URL_SQS tells the functions. */
  readonly sqsEndpoint: string;
  readonly queues: LocalQueues;
  /** The canary's machine client at the local identity provider (its secret is the plan's Secrets Manager secret). */
  readonly canaryClient: MachineClient;
  /** The alarm topics and their subscriptions; `sns.deliveries` lists every notification sent. */
  readonly sns: LocalSns;
  /** The plan's S3 buckets (attachments), as AWS_ENDPOINT_URL_S3 tells the functions; presigned URLs point here. */
  readonly s3Endpoint: string;
  readonly buckets: readonly LocalBucket[];
  /** A function's environment as its workers get it (the plan's variables, resolved for this machine). */
  /** The synthesized plan the stack runs, for tools that look its resources up (local/plan-names.ts). */
  readonly plan: StackPlan;
  functionEnvironment(functionName: string): Readonly<Record<string, string>>;
  /** Ends every idle function environment, as Lambda reclaims unused ones (memory measurements use it). */
  discardIdleEnvironments(): Promise<void>;
  /** Function environments alive across all functions (the soak reports them beside memory). */
  environmentCount(): number;
  /** Invocations running now across all functions: 0 means every post a function made has been answered. */
  invocationsInFlight(): number;
  /** Cold starts so far by function name: invocations that waited for a new environment's Init. */
  coldStarts(): Readonly<Record<string, number>>;
  /** CPU of each function's environments (threads of this process), Init apart from the rest. */
  functionCpu(): Readonly<Record<string, FunctionCpu>>;
  /** `runDisconnects: false` cuts the connections without their `$disconnect` (a test's teardown). */
  close(options?: { runDisconnects?: boolean }): Promise<void>;
}

/** A port for a child process to listen on (it may be taken before the child listens: callers retry or accept that). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
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
  const timeScale = options.timeScale ?? 1;
  const logs = new LogStore();
  const faults = new FaultController();
  const traces = new XrayCollector();
  const xrayDaemon = await traces.listen();
  const print: LogSink = options.log ?? (() => undefined);
  // Every line reaches the log store; EMF blobs also become metrics, as CloudWatch Logs would extract them.
  // The log group each source writes to, as the plan names it: a function's logging_config, the stage's access log.
  const logGroups = new Map<string, string>();
  const log: LogSink = (source, line, stream) => {
    logs.add(source, line, { group: logGroups.get(source), stream });
    ingestEmf(line, metrics);
    print(source, line);
  };
  // Listening before anything else: the port is in the plan's variables, and a port picked then released could be
  // taken by another process before a later listen.
  const gatewayServer = createServer();
  const base = await listenOnLoopback(gatewayServer, options.port ?? 0);
  const port = Number(new URL(base).port);
  // The dev stage's issuer is this stack: it registers the canary's machine client with a secret of this run.
  const canaryClient: MachineClient = { clientId: LOCAL_IDP.canaryClientId, clientSecret: randomBytes(24).toString('base64url'), scope: LOCAL_IDP.canaryScope };
  const plan = StackPlan.load(options.stackDir, {
    apiId: localApiId(options.stackDir),
    variables: {
      ...options.variables,
      [IDENTITY_VARIABLES.issuer]: LOCAL_IDP.issuer,
      [IDENTITY_VARIABLES.audience]: LOCAL_IDP.audience,
      [IDENTITY_VARIABLES.jwksUrl]: `${base}${LOCAL_IDP.jwksPath}`,
      // The chat page this stack serves is the browser origin that uploads and downloads attachments.
      [ATTACHMENT_CORS_VARIABLE]: JSON.stringify([base, `http://localhost:${port}`]),
      [CANARY_VARIABLES.tokenEndpoint]: `${base}${LOCAL_IDP.oauthTokenPath}`,
      [CANARY_VARIABLES.clientId]: canaryClient.clientId,
      [CANARY_VARIABLES.clientSecret]: canaryClient.clientSecret,
      [CANARY_VARIABLES.scope]: canaryClient.scope,
    },
  });
  const alarmDefinitions = readAlarms(plan, { schedulesRun: options.runSchedules === true });
  const metrics = new MetricStore(metricRetentionMs(alarmDefinitions) / timeScale);
  const api = readApiModel(plan);
  if (api.accessLogGroupName !== undefined) logGroups.set('apigateway', api.accessLogGroupName);
  const idp = await loadDevIdp(options.stateDir);

  const dynalite: DynamoEndpoint | undefined = options.dynamoEndpoint ? undefined : await startDynalite(0, options.dataDir);
  const dynamoEndpoint = options.dynamoEndpoint ?? (dynalite as DynamoEndpoint).endpoint;
  const dynamo = localDynamoClient(dynamoEndpoint, plan.region);
  const tables = await createTables(plan, dynamo);
  const stopSweeper = startTtlSweeper(plan, dynamo, options.ttlSweepMs ?? 5000);
  const iam = Iam.fromPlan(plan, operatorPolicyName(api.stage));
  const tableArn = (table: string) => `arn:aws:dynamodb:${plan.region}:${LOCAL_ACCOUNT_ID}:table/${table}`;
  const dynamoProxy = new DynamoProxy(
    dynalite?.handle ?? dynamoEndpoint,
    faults,
    (table, name, value, extra) => metrics.put('AWS/DynamoDB', name, { TableName: table, ...extra }, value),
    (accessKeyId, operation, body) => {
      for (const { action, resource } of dynamodbAuthorizations(operation, body, tableArn)) {
        const denial = iam.check(accessKeyId, action, resource);
        if (denial) return denial.message;
      }
      return undefined;
    },
  );
  const functionsDynamoEndpoint = await dynamoProxy.listen();
  const queues = new LocalQueues(plan, {
    authorize: (accessKeyId, action, resource) => iam.check(accessKeyId, action, resource)?.message,
    timeScale,
    metric: (queueName, name, value) => metrics.put('AWS/SQS', name, { QueueName: queueName }, value),
  });
  const sqsEndpoint = await queues.listen();
  // Kept with the DynamoDB data when there is a data directory (a restart finds both); otherwise gone on close.
  const s3Directory = options.dataDir ? path.join(options.dataDir, 's3') : mkdtempSync(path.join(tmpdir(), 'wschat-s3-'));
  const s3 = new LocalS3({
    plan,
    directory: s3Directory,
    // The operator identity deletes an erased user's files (npm run admin -- erase-user).
    accessKeyIds: [
      OPERATOR_ACCESS_KEY_ID,
      ...plan.resources('aws_lambda_function').map((fn) => functionAccessKeyId(plan.resolve(String(fn.config.function_name)))),
    ],
    authorize: (accessKeyId, action, resource) => iam.check(accessKeyId, action, resource)?.message,
    onRefused: (code, message) => log('s3', `refused: ${code} ${message}`),
  });
  const s3Endpoint = await s3.listen();
  const secrets = new LocalSecrets(plan, { authorize: (accessKeyId, action, resource) => iam.check(accessKeyId, action, resource)?.message });
  const secretsManagerEndpoint = await secrets.listen();
  const pools = new Map<string, FunctionPool>();
  const definitions = new Map<string, FunctionDefinition>();
  const targets = FunctionTargets.fromPlan(plan);
  const provisionedTargets = readProvisionedTargets(plan, targets);
  const lambdaApi = new LambdaInvokeApi({
    region: plan.region,
    pools,
    targets,
    asyncConfigs: readAsyncConfigs(plan),
    authorize: (accessKeyId, action, resource) => iam.check(accessKeyId, action, resource)?.message,
    timeScale,
    log: (line) => log('lambda', line),
    metric: (functionName, name, value) => metrics.put('AWS/Lambda', name, { FunctionName: functionName }, value),
    sendToQueue: (functionName, queueArn, body) => {
      if (faults.get('sqs-unreachable')) return 'SQS is unreachable (injected)';
      const queue = queues.byArn(queueArn);
      if (!queue) return `the plan defines no queue ${queueArn}`;
      const denial = iam.check(functionAccessKeyId(functionName), 'sqs:SendMessage', queueArn);
      if (denial) return denial.message;
      queues.send(queue, body);
      return undefined;
    },
  });
  const lambdaEndpoint = await lambdaApi.listen();

  const observeInvocation = (record: InvocationRecord) => {
    const dims = { FunctionName: record.functionName };
    const failed = record.status === 'error' || record.status === 'timeout' || record.status === 'crashed';
    if (record.status === 'throttled') {
      metrics.put('AWS/Lambda', 'Throttles', dims, 1);
      return;
    }
    metrics.put('AWS/Lambda', 'Invocations', dims, 1);
    metrics.put('AWS/Lambda', 'Errors', dims, failed ? 1 : 0);
    metrics.put('AWS/Lambda', 'Duration', dims, record.end - record.start);
    metrics.put('AWS/Lambda', 'ConcurrentExecutions', dims, record.concurrent);
    if (record.qualifier !== record.executedVersion) {
      // Lambda's per-alias metrics by the version that ran: how a rollout tells the new version's share of traffic.
      const byVersion = { FunctionName: record.functionName, Resource: `${record.functionName}:${record.qualifier}`, ExecutedVersion: record.executedVersion };
      metrics.put('AWS/Lambda', 'Invocations', byVersion, 1);
      metrics.put('AWS/Lambda', 'Errors', byVersion, failed ? 1 : 0);
    }
    if (record.provisioned) {
      // Lambda's per-alias metrics: FunctionName and Resource (`name:alias`).
      const alias = { FunctionName: record.functionName, Resource: `${record.functionName}:${record.qualifier}` };
      const { served, busy, environments } = record.provisioned;
      metrics.put('AWS/Lambda', served ? 'ProvisionedConcurrencyInvocations' : 'ProvisionedConcurrencySpilloverInvocations', alias, 1);
      metrics.put('AWS/Lambda', 'ProvisionedConcurrentExecutions', alias, served ? busy : environments);
      // A spilled-over invocation found every provisioned environment busy.
      metrics.put('AWS/Lambda', 'ProvisionedConcurrencyUtilization', alias, served ? busy / environments : 1);
    }
    // The segment the Lambda service records for each invocation; the function's subsegments hang off it.
    traces.record({
      id: record.segmentId,
      trace_id: record.traceId,
      name: record.functionName,
      origin: 'AWS::Lambda::Function',
      start_time: record.start / 1000,
      end_time: record.end / 1000,
      fault: failed,
    });
  };
  const poolHooks = {
    traceContext: newTraceContext,
    budget: new EnvironmentBudget(options.environmentBudget),
    clock: options.functionClock?.buffer,
    fault: (functionName: string, executedVersion: string) => {
      if (faults.get('function-throttle')?.functionName === functionName) return 'throttle' as const;
      const crash = faults.get('function-crash');
      return crash?.functionName === functionName && (crash.version === undefined || crash.version === executedVersion) ? ('crash' as const) : undefined;
    },
  };

  // The plan's @connections endpoint is an AWS host; locally the same API answers on the gateway's port.
  const awsApiHost = `https://${plan.apiId}.execute-api.${plan.region}.amazonaws.com`;
  // The stage's wss:// URL (the canary's) is the gateway's WebSocket endpoint.
  const awsWebSocketHost = `wss://${plan.apiId}.execute-api.${plan.region}.amazonaws.com`;
  const localWebSocketHost = `ws://127.0.0.1:${port}`;
  const planRuntimes = new Set<string>();
  for (const fn of plan.resources('aws_lambda_function')) {
    const config = plan.resolve(fn.config);
    const functionName = String(config.function_name);
    const runtime = String(config.runtime);
    if (!runtime.startsWith('nodejs')) throw new Error(`${functionName}: runtime ${runtime} cannot run locally`);
    planRuntimes.add(runtime);
    const codeDir = unpackBundle(plan, fn, options.stateDir);
    const variables = ((config.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {}) as Record<
      string,
      string
    >;
    const planEnv = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, v.split(awsApiHost).join(base).split(awsWebSocketHost).join(localWebSocketHost)]));
    const logGroupName = String((config.logging_config as { log_group?: string } | undefined)?.log_group ?? `/aws/lambda/${functionName}`);
    logGroups.set(functionName, logGroupName);
    const memoryMb = Number(config.memory_size ?? 128);
    // Terraform's -1 (the provider's default) means unreserved: the function shares the account's concurrency.
    const reserved = config.reserved_concurrent_executions === undefined ? -1 : Number(config.reserved_concurrent_executions);
    if (!Number.isInteger(reserved) || reserved < -1) {
      throw new Error(`${functionName}: reserved_concurrent_executions must be -1 or a whole number >= 0, got ${String(config.reserved_concurrent_executions)}`);
    }
    const definition: FunctionDefinition = {
      name: functionName,
      codeDir,
      handler: String(config.handler),
      arn: `arn:aws:lambda:${plan.region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
      timeoutMs: Number(config.timeout ?? 3) * 1000,
      memoryMb,
      logGroupName,
      reservedConcurrency: reserved === -1 ? undefined : reserved,
      provisioned: provisionedTargets.get(functionName),
      environment: {
        ...planEnv,
        ...lambdaServiceEnvironment({
          functionName,
          runtime,
          region: plan.region,
          memoryMb,
          logGroupName,
          codeDir,
          handler: String(config.handler),
          endpoints: { dynamodb: functionsDynamoEndpoint, lambda: lambdaEndpoint, sqs: sqsEndpoint, s3: s3Endpoint, secretsManager: secretsManagerEndpoint, xrayDaemon },
        }),
      },
    };
    definitions.set(functionName, definition);
    pools.set(
      functionName,
      new FunctionPool(definition, log, {
        ...poolHooks,
        observe: (record) => {
          observeInvocation(record);
          // Account-wide concurrency: everything in flight now, plus the invocation that just ended.
          const inFlight = [...pools.values()].reduce((sum, pool) => sum + pool.concurrency, 0) + 1;
          metrics.put('AWS/Lambda', 'ConcurrentExecutions', {}, inFlight);
          // What counts against the quota: each function's reserved concurrency whole, the others' executions.
          const claimed = [...definitions.values()].reduce(
            (sum, d) => sum + (d.reservedConcurrency ?? (pools.get(d.name)?.concurrency ?? 0) + (d.name === definition.name ? 1 : 0)),
            0,
          );
          metrics.put('AWS/Lambda', 'ClaimedAccountConcurrency', {}, claimed);
        },
      }),
    );
  }

  lambdaApi.verifyAsyncConfigs();
  // Provisioned environments are initialized before the stage takes traffic: their first invocations are warm.
  await Promise.all([...pools.values()].map((pool) => pool.provision()));

  const sns = new LocalSns(plan, base);
  const alarms = new AlarmEvaluator(
    alarmDefinitions,
    metrics,
    timeScale,
    (status, previous) => {
      sns.notifyAlarm(status, previous, plan.region);
      options.onAlarm?.(status);
    },
    Date.now(),
  );
  alarms.start();
  /** An invocation of a function or its alias as its caller names it: the alias's weights pick the version. */
  const invokeTarget = (target: FunctionTarget, event: unknown, caller: string) => {
    const resolved = targets.resolve(target);
    const pool = resolved && pools.get(resolved.functionName);
    if (!pool) throw new Error(`${caller} targets ${qualifiedName(target)}, which the plan does not define`);
    return pool.invoke(event, resolved.qualifier, resolved.executedVersion);
  };

  const cloudWatchApi = new LocalCloudWatchApi({
    region: plan.region,
    statuses: alarms.statuses,
    authorize: (accessKeyId, action, resource) => iam.check(accessKeyId, action, resource)?.message,
  });
  const cloudWatchEndpoint = await cloudWatchApi.listen();

  const gateway = new Gateway({
    server: gatewayServer,
    api,
    invoke: (target, event) => invokeTarget(target, event, 'a route'),
    log: (line) => log('apigateway', line),
    http: [
      jwksHandler(idp),
      localEndpointGuard(port),
      tokenHandler(idp),
      clientCredentialsHandler(idp, canaryClient),
      faultsHandler(faults),
      sns.handler(),
      dashboardHandler({ plan, metrics, alarms, logs, traces, sns, timeScale }),
      chatPageHandler(api.stage),
    ],
    timeScale,
    clock: options.gatewayClock,
    faults,
    authorize: (accessKeyId, action, resource) => {
      const denial = iam.check(accessKeyId, action, resource);
      return iam.authenticate(accessKeyId) ?? (denial && { type: 'ForbiddenException', message: denial.message });
    },
    quotas: options.quotas,
    metric: metrics.recorder('AWS/ApiGateway', { ApiId: api.apiId, Stage: api.stage }),
  });
  // Subscriptions exist from the start; each endpoint confirms when it is ready (a failed one is on the dashboard).
  void sns.requestConfirmations();
  const schedules = readSchedules(plan);
  const stopSchedules =
    options.runSchedules !== true
      ? () => undefined
      : runSchedules(
          schedules,
          plan.region,
          timeScale,
          (target, event) => invokeTarget(target, event, 'a schedule'),
          (schedule, error) => log('events', `${schedule.ruleName}: invoking ${schedule.functionName} failed: ${(error as Error).message}`),
        );

  return {
    url: `ws://127.0.0.1:${port}/${api.stage}`,
    port,
    stage: api.stage,
    dynamoEndpoint,
    functionsDynamoEndpoint,
    region: plan.region,
    plan,
    functions: [...pools.keys()],
    nodeRuntime: { plan: [...planRuntimes], local: process.version },
    tables,
    timeScale,
    runsSchedules: options.runSchedules === true,
    idp,
    gateway,
    metrics,
    alarms,
    faults,
    logs,
    traces,
    iam,
    lambdaEndpoint,
    lambda: lambdaApi,
    cloudWatchEndpoint,
    sqsEndpoint,
    queues,
    sns,
    canaryClient,
    s3Endpoint,
    buckets: s3.buckets,
    functionEnvironment(functionName) {
      const definition = definitions.get(functionName);
      if (!definition) throw new Error(`the plan defines no function ${functionName}; it has ${[...definitions.keys()].join(', ')}`);
      return definition.environment;
    },
    async discardIdleEnvironments() {
      await Promise.all([...pools.values()].map((pool) => pool.discardIdle()));
    },
    environmentCount() {
      return [...pools.values()].reduce((sum, pool) => sum + pool.environments, 0);
    },
    invocationsInFlight() {
      return [...pools.values()].reduce((sum, pool) => sum + pool.concurrency, 0);
    },
    functionCpu() {
      return Object.fromEntries([...pools].map(([name, pool]) => [name, pool.cpu]));
    },
    coldStarts() {
      return Object.fromEntries([...pools].map(([name, pool]) => [name, pool.coldStarts]));
    },
    async close(closing) {
      stopSchedules();
      await gateway.close(closing);
      await secrets.close();
      await lambdaApi.close();
      await cloudWatchApi.close();
      await queues.close();
      await s3.close();
      if (!options.dataDir) rmSync(s3Directory, { recursive: true, force: true });
      alarms.stop();
      traces.close();
      stopSweeper();
      await dynamoProxy.close();
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      dynamo.destroy();
      await dynalite?.close();
    },
  };
}
