/**
 * One Lambda execution environment: loads the bundle when it starts (the Init phase of a cold start) and then
 * runs one invocation at a time, like Lambda. Its process.env is the function's environment from the plan.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { installFunctionClock } from './function-clock.ts';

export interface WorkerData {
  readonly codeDir: string;
  /** `file.export`, as in the plan's `handler`. */
  readonly handler: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly memoryMb: number;
  readonly logGroupName: string;
  /** A test's FunctionClock (shared memory), when it asked for one; otherwise functions read the real clock. */
  readonly clock?: SharedArrayBuffer;
}

export interface InvokeMessage {
  readonly id: number;
  readonly event: unknown;
  readonly requestId: string;
  readonly deadline: number;
  readonly traceHeader: string;
}

/** The environment's Init phase (import of the bundle), reported once, then one reply per invocation. */
export type WorkerReply = (
  | { readonly kind: 'init'; readonly ok: true; readonly initMs: number }
  | { readonly kind: 'init'; readonly ok: false; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'invoke'; readonly id: number; readonly ok: true; readonly payload: unknown }
  | { readonly kind: 'invoke'; readonly id: number; readonly ok: false; readonly errorType: string; readonly errorMessage: string }
) & {
  /** CPU this environment's thread has used since it started, as of this reply (the benches' per-function CPU). */
  readonly threadCpuMicros: number;
};

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const data = workerData as WorkerData;
// The invocation's deadline is real time (the pool's): the remaining time must not move with a test's clock.
const realNow = Date.now.bind(Date);
if (data.clock) installFunctionClock(data.clock);
let handler: Handler | undefined;

function threadCpuMicros(): number {
  const { user, system } = process.threadCpuUsage();
  return user + system;
}

/** Lambda's Init phase: it runs when the environment starts, before (and not counted in) any invocation's timeout. */
async function init(): Promise<void> {
  const started = realNow();
  try {
    const dot = data.handler.lastIndexOf('.');
    const file = path.join(data.codeDir, `${data.handler.slice(0, dot)}.mjs`);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fn = module[data.handler.slice(dot + 1)];
    if (typeof fn !== 'function') throw new Error(`${data.handler} is not a function in ${file}`);
    handler = fn as Handler;
    parentPort?.postMessage({ kind: 'init', ok: true, initMs: realNow() - started, threadCpuMicros: threadCpuMicros() } satisfies WorkerReply);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    console.error(JSON.stringify({ level: 'ERROR', message: 'Init Error', errorType: e.name, errorMessage: e.message, stack: e.stack }));
    parentPort?.postMessage({
      kind: 'init',
      ok: false,
      errorType: e.name,
      errorMessage: e.message,
      threadCpuMicros: threadCpuMicros(),
    } satisfies WorkerReply);
  }
}

void init();

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
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - realNow()),
  };
  let reply: WorkerReply;
  try {
    // The pool invokes only an environment whose Init succeeded.
    const payload = await (handler as Handler)(message.event, context);
    reply = { kind: 'invoke', id: message.id, ok: true, payload, threadCpuMicros: threadCpuMicros() };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    // Lambda logs the failure of an invocation the same way.
    console.error(JSON.stringify({ level: 'ERROR', message: 'Invoke Error', errorType: e.name, errorMessage: e.message, stack: e.stack }));
    reply = { kind: 'invoke', id: message.id, ok: false, errorType: e.name, errorMessage: e.message, threadCpuMicros: threadCpuMicros() };
  }
  parentPort?.postMessage(reply);
});
