/**
 * One Lambda execution environment: loads the bundle on the first invocation (the cold start) and then runs
 * one invocation at a time, like Lambda. Its process.env is the function's environment from the plan.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerData {
  readonly codeDir: string;
  /** `file.export`, as in the plan's `handler`. */
  readonly handler: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly memoryMb: number;
  readonly logGroupName: string;
}

export interface InvokeMessage {
  readonly id: number;
  readonly event: unknown;
  readonly requestId: string;
  readonly deadline: number;
  readonly traceHeader: string;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly payload: unknown; readonly initMs?: number }
  | { readonly id: number; readonly ok: false; readonly errorType: string; readonly errorMessage: string };

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const data = workerData as WorkerData;
let handler: Handler | undefined;

async function load(): Promise<{ fn: Handler; initMs?: number }> {
  if (handler) return { fn: handler };
  const started = Date.now();
  const dot = data.handler.lastIndexOf('.');
  const file = path.join(data.codeDir, `${data.handler.slice(0, dot)}.mjs`);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = module[data.handler.slice(dot + 1)];
  if (typeof fn !== 'function') throw new Error(`${data.handler} is not a function in ${file}`);
  handler = fn as Handler;
  return { fn: handler, initMs: Date.now() - started };
}

parentPort?.on('message', async (message: InvokeMessage) => {
  process.env._X_AMZN_TRACE_ID = message.traceHeader;
  const context = {
    awsRequestId: message.requestId,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: data.functionArn,
    memoryLimitInMB: String(data.memoryMb),
    logGroupName: data.logGroupName,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
  };
  let reply: WorkerReply;
  try {
    const { fn, initMs } = await load();
    reply = { id: message.id, ok: true, payload: await fn(message.event, context), initMs };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    // Lambda logs the failure of an invocation the same way.
    console.error(JSON.stringify({ level: 'ERROR', message: 'Invoke Error', errorType: e.name, errorMessage: e.message, stack: e.stack }));
    reply = { id: message.id, ok: false, errorType: e.name, errorMessage: e.message };
  }
  parentPort?.postMessage(reply);
});
