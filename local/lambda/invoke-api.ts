/**
 * The Lambda Invoke API on a local port (`POST /2015-03-31/functions/{name}/invocations`), so a function calling
 * @aws-sdk/client-lambda's InvokeCommand (its environment carries AWS_ENDPOINT_URL_LAMBDA) reaches the plan's
 * other functions: synchronous (RequestResponse), asynchronous (Event: queued, retried, sent to the plan's
 * on-failure/on-success destination: another function or an SQS queue) and DryRun invocations, with IAM
 * (lambda:InvokeFunction, and sqs:SendMessage for a queue destination) and throttles.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { accessKeyIdOf } from '../iam.ts';
import { closeNow, listenOnLoopback } from '../loopback-server.ts';
import { LOCAL_ACCOUNT_ID, type StackPlan } from '../plan.ts';
import { parseFunctionIdentifier, qualifiedName, type FunctionTargets, type ResolvedTarget } from './aliases.ts';
import { handleControlPlane } from './control-api.ts';
import type { FunctionPool, InvokeResult } from './function-pool.ts';

/** Payload quotas: 6 MB for a synchronous invocation, 1 MB for an asynchronous one. */
export const INVOKE_LIMITS = { syncPayloadBytes: 6 * 1024 * 1024, asyncPayloadBytes: 1024 * 1024 };

/** Lambda's asynchronous retry schedule: a failed event is retried after one minute, then after two. */
const RETRY_DELAYS_MS = [60_000, 120_000];
/** A throttled event goes back to the queue, with backoff from one second up to five minutes. */
const THROTTLE_BACKOFF_MS = { first: 1_000, max: 300_000 };

export interface AsyncInvokeConfig {
  /** 0 to 2; 2 when the plan declares no event invoke config. */
  readonly maximumRetryAttempts: number;
  /** 60 s to 6 h; an event still undelivered then is dropped (or sent to the on-failure destination). */
  readonly maximumEventAgeMs: number;
  readonly onFailure?: Destination;
  readonly onSuccess?: Destination;
}

/** Where Lambda sends the record of an asynchronous invocation: a function (by `name[:qualifier]`) or a queue (by ARN). */
export type Destination = { readonly kind: 'function'; readonly name: string } | { readonly kind: 'queue'; readonly arn: string };

const DEFAULT_ASYNC_CONFIG: AsyncInvokeConfig = { maximumRetryAttempts: 2, maximumEventAgeMs: 6 * 60 * 60 * 1000 };

/**
 * Reads aws_lambda_function_event_invoke_config: retries, event age and destinations, by `name[:qualifier]`. A
 * config with a qualifier applies to invocations of that alias or version only, as on Lambda.
 */
export function readAsyncConfigs(plan: StackPlan): Map<string, AsyncInvokeConfig> {
  const configs = new Map<string, AsyncInvokeConfig>();
  for (const resource of plan.resources('aws_lambda_function_event_invoke_config')) {
    const config = plan.resolve(resource.config) as Record<string, unknown>;
    const target = parseFunctionIdentifier(String(config.function_name));
    const functionName = qualifiedName(config.qualifier === undefined ? target : { ...target, qualifier: String(config.qualifier) });
    const retries = Number(config.maximum_retry_attempts ?? DEFAULT_ASYNC_CONFIG.maximumRetryAttempts);
    if (!Number.isInteger(retries) || retries < 0 || retries > 2) {
      throw new Error(`${resource.address}: maximum_retry_attempts must be 0, 1 or 2, got ${String(config.maximum_retry_attempts)}`);
    }
    const ageSeconds = Number(config.maximum_event_age_in_seconds ?? DEFAULT_ASYNC_CONFIG.maximumEventAgeMs / 1000);
    if (!Number.isInteger(ageSeconds) || ageSeconds < 60 || ageSeconds > 21_600) {
      throw new Error(`${resource.address}: maximum_event_age_in_seconds must be 60 to 21600, got ${String(config.maximum_event_age_in_seconds)}`);
    }
    const destinations = [config.destination_config].flat()[0] as Record<string, unknown> | undefined;
    const destination = (kind: 'on_failure' | 'on_success'): Destination | undefined => {
      const arn = ([destinations?.[kind]].flat()[0] as { destination?: string } | undefined)?.destination;
      if (arn === undefined) return undefined;
      if (arn.startsWith('arn:aws:sqs:')) return { kind: 'queue', arn };
      if (!arn.startsWith('arn:aws:lambda:')) {
        throw new Error(`${resource.address}: ${kind} destination ${arn} is neither a Lambda function nor an SQS queue; the local stack runs no SNS or EventBridge`);
      }
      return { kind: 'function', name: qualifiedName(parseFunctionIdentifier(arn)) };
    };
    configs.set(functionName, {
      maximumRetryAttempts: retries,
      maximumEventAgeMs: ageSeconds * 1000,
      onFailure: destination('on_failure'),
      onSuccess: destination('on_success'),
    });
  }
  return configs;
}

export interface InvokeApiOptions {
  readonly region: string;
  readonly pools: ReadonlyMap<string, FunctionPool>;
  /** The plan's versions and aliases: which qualifiers exist and what they run. */
  readonly targets: FunctionTargets;
  readonly asyncConfigs: ReadonlyMap<string, AsyncInvokeConfig>;
  /** Undefined when allowed; otherwise AWS's AccessDenied message. */
  readonly authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
  /** Divides the asynchronous retry delays and event age, like the gateway's connection limits. */
  readonly timeScale: number;
  /**
   * Sends a destination record to a queue on behalf of `functionName` (with its role, as Lambda does); undefined
   * when sent, otherwise why not.
   */
  readonly sendToQueue: (functionName: string, queueArn: string, body: string) => string | undefined;
  readonly log: (line: string) => void;
  /** Records one of Lambda's own per-function metrics (AWS/Lambda, FunctionName). */
  readonly metric?: (functionName: string, name: 'DestinationDeliveryFailures', value: number) => void;
}

/** What Lambda sends to a destination about an asynchronous invocation. */
export interface DestinationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responseContext: { readonly statusCode: number; readonly executedVersion: string; readonly functionError?: string };
  readonly responsePayload: unknown;
}

export class LambdaInvokeApi {
  private readonly server: Server;
  private readonly inFlight = new Set<Promise<void>>();
  /** Events waiting for a retry: their timers, and how to wake them when the API closes. */
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly options: InvokeApiOptions) {
    this.server = createServer((req, res) =>
      this.handle(req, res).catch((error: unknown) => {
        // Lambda's own failure, not the function's: the SDK retries a ServiceException.
        if (!res.headersSent) lambdaError(res, 500, 'ServiceException', `local Lambda API failed: ${(error as Error).message}`);
      }),
    );
  }

  /** Every function (and qualifier) an event invoke config names, its own and its destinations', must be in the plan. */
  verifyAsyncConfigs(): void {
    for (const [functionName, config] of this.options.asyncConfigs) {
      const named = [config.onFailure, config.onSuccess].flatMap((d) => (d?.kind === 'function' ? [d.name] : []));
      for (const name of [functionName, ...named]) {
        if (!this.resolve(name)) throw new Error(`the event invoke config of ${functionName} names function ${name}, which the plan does not define`);
      }
    }
  }

  /** The function, version and alias `name[:qualifier]` reaches, if the plan has them and runs the function. */
  private resolve(identifier: string): ResolvedTarget | undefined {
    const resolved = this.options.targets.resolve(parseFunctionIdentifier(identifier));
    return resolved && this.options.pools.has(resolved.functionName) ? resolved : undefined;
  }

  async listen(): Promise<string> {
    return listenOnLoopback(this.server);
  }

  /** Queued events are dropped, as a deleted function's would be; running ones finish first. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    await Promise.allSettled([...this.inFlight]);
    await closeNow(this.server);
  }

  /** Queues an event for a function as InvocationType Event does; resolves once it is delivered or given up. */
  private enqueue(target: ResolvedTarget, payload: unknown): Promise<void> {
    const requestId = randomUUID();
    const delivery = this.deliver(target, payload, requestId, Date.now()).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    return delivery;
  }

  private arn(functionName: string): string {
    return `arn:aws:lambda:${this.options.region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { region, targets, authorize, log } = this.options;
    if (await handleControlPlane({ region, targets, authorize, log }, req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (!match?.[1] || req.method !== 'POST') {
      return lambdaError(res, 404, 'UnknownOperationException', `${req.method} ${url.pathname} is not an operation of the local Lambda API`);
    }
    const identifier = decodeURIComponent(match[1]);
    let named: ReturnType<typeof parseFunctionIdentifier>;
    try {
      named = parseFunctionIdentifier(identifier);
    } catch (error) {
      return lambdaError(res, 400, 'ValidationException', (error as Error).message);
    }
    const qualifier = url.searchParams.get('Qualifier') ?? undefined;
    if (qualifier !== undefined && named.qualifier !== undefined && qualifier !== named.qualifier) {
      return lambdaError(res, 400, 'InvalidParameterValueException', 'The derived qualifier from the function name does not match the specified qualifier.');
    }
    const requested = { functionName: named.functionName, qualifier: named.qualifier ?? qualifier };
    const target = this.resolve(qualifiedName(requested));
    // An invocation is authorized on the ARN it names: the alias's ARN for `name:live`, the function's otherwise.
    const requestedArn = `${this.arn(named.functionName)}${requested.qualifier === undefined ? '' : `:${requested.qualifier}`}`;
    if (!target) return lambdaError(res, 404, 'ResourceNotFoundException', `Function not found: ${requestedArn}`);
    const pool = this.options.pools.get(target.functionName) as FunctionPool;
    const denied = this.options.authorize?.(accessKeyIdOf(req.headers.authorization), 'lambda:InvokeFunction', requestedArn);
    if (denied) return lambdaError(res, 403, 'AccessDeniedException', denied);

    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType)) {
      return lambdaError(res, 400, 'InvalidParameterValueException', `InvocationType ${invocationType} must be RequestResponse, Event or DryRun`);
    }
    if (req.headers['x-amz-log-type'] === 'Tail') {
      return lambdaError(res, 400, 'InvalidParameterValueException', 'LogType Tail is not served locally; read the function log lines instead');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const limit = invocationType === 'Event' ? INVOKE_LIMITS.asyncPayloadBytes : INVOKE_LIMITS.syncPayloadBytes;
    if (body.length > limit) {
      return lambdaError(res, 413, 'RequestEntityTooLargeException', `Request must be smaller than ${limit} bytes for the ${invocationType} invocation type`);
    }
    let payload: unknown = {};
    if (body.length > 0) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        return lambdaError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
    }
    if (invocationType === 'DryRun') return void res.writeHead(204).end();
    if (invocationType === 'Event') {
      void this.enqueue(target, payload);
      return void res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
    }
    const result = await pool.invoke(payload, target.qualifier, target.executedVersion);
    if (result.status === 'throttled') {
      return lambdaError(res, 429, 'TooManyRequestsException', result.errorMessage, { Reason: result.reason });
    }
    const headers = { 'content-type': 'application/json', 'x-amz-executed-version': target.executedVersion, 'x-amzn-requestid': randomUUID() };
    if (result.status === 'ok') return void res.writeHead(200, headers).end(JSON.stringify(result.payload ?? null));
    res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify(errorPayload(result)));
  }

  private async deliver(target: ResolvedTarget, payload: unknown, requestId: string, receivedAt: number): Promise<void> {
    const pool = this.options.pools.get(target.functionName) as FunctionPool;
    // The config of the qualifier invoked (an alias's applies to invocations through it only), else of $LATEST.
    const functionName = qualifiedName(target.qualifier === '$LATEST' ? { functionName: target.functionName } : target);
    const config = this.options.asyncConfigs.get(functionName) ?? DEFAULT_ASYNC_CONFIG;
    const scale = this.options.timeScale;
    let attempts = 0;
    let throttleBackoff = THROTTLE_BACKOFF_MS.first;
    for (;;) {
      if (this.closed) return;
      if (Date.now() - receivedAt > config.maximumEventAgeMs / scale) {
        return this.finish(target, config, requestId, payload, attempts, 'EventAgeExceeded');
      }
      const result = await pool.invoke(payload, target.qualifier, target.executedVersion);
      if (result.status === 'ok') return this.finish(target, config, requestId, payload, attempts + 1, 'Success', result);
      if (result.status === 'throttled') {
        // Throttles do not use up retries: the event waits in the queue until its maximum age.
        await this.sleep(throttleBackoff / scale);
        throttleBackoff = Math.min(THROTTLE_BACKOFF_MS.max, throttleBackoff * 2);
        continue;
      }
      attempts++;
      if (attempts > config.maximumRetryAttempts) {
        return this.finish(target, config, requestId, payload, attempts, 'RetriesExhausted', result);
      }
      this.options.log(`${functionName} async invocation ${requestId} failed (${describe(result)}); retry ${attempts} of ${config.maximumRetryAttempts}`);
      await this.sleep((RETRY_DELAYS_MS[attempts - 1] as number) / scale);
    }
  }

  private finish(
    target: ResolvedTarget,
    config: AsyncInvokeConfig,
    requestId: string,
    payload: unknown,
    invokeCount: number,
    condition: DestinationRecord['requestContext']['condition'],
    result?: InvokeResult,
  ): void {
    const { functionName } = target;
    const destination = condition === 'Success' ? config.onSuccess : config.onFailure;
    if (condition !== 'Success') {
      this.options.log(
        `${functionName} async invocation ${requestId} dropped: ${condition}` +
          (result ? ` (${describe(result)})` : '') +
          (destination ? `; sent to ${destination.kind === 'function' ? destination.name : destination.arn}` : '; no on-failure destination'),
      );
    }
    if (!destination || this.closed) return;
    const record: DestinationRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId, functionArn: `${this.arn(functionName)}:${target.qualifier}`, condition, approximateInvokeCount: invokeCount },
      requestPayload: payload,
      responseContext: {
        statusCode: 200,
        executedVersion: target.executedVersion,
        ...(result && result.status !== 'ok' ? { functionError: 'Unhandled' } : {}),
      },
      responsePayload: result ? (result.status === 'ok' ? result.payload : errorPayload(result)) : undefined,
    };
    if (destination.kind === 'queue') {
      // Lambda reports a failed delivery to a destination only as the DestinationDeliveryFailures metric.
      const failure = this.options.sendToQueue(functionName, destination.arn, JSON.stringify(record));
      if (failure) {
        this.options.log(`${functionName} async invocation ${requestId}: could not send to ${destination.arn}: ${failure}`);
        this.options.metric?.(functionName, 'DestinationDeliveryFailures', 1);
      }
      return;
    }
    // Lambda invokes a destination function asynchronously too, with its own retries.
    const destinationTarget = this.resolve(destination.name);
    if (destinationTarget) void this.enqueue(destinationTarget, record);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }
}

function describe(result: InvokeResult): string {
  return result.status === 'ok' ? 'ok' : `${result.status}: ${result.errorMessage}`;
}

/** The body Lambda returns (with X-Amz-Function-Error: Unhandled) for an invocation that failed. */
function errorPayload(result: Exclude<InvokeResult, { status: 'ok' }>): { errorType: string; errorMessage: string } {
  if (result.status === 'error') return { errorType: result.errorType, errorMessage: result.errorMessage };
  if (result.status === 'timeout') return { errorType: 'Sandbox.Timedout', errorMessage: result.errorMessage };
  return { errorType: 'Runtime.ExitError', errorMessage: result.errorMessage };
}

function lambdaError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void {
  // The SDK names its error from this header, as for every REST-JSON service.
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ Type: 'User', message, ...extra }));
}
