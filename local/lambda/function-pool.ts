/**
 * The execution environments of one function: a worker thread each, created on demand (cold start: the Init
 * phase, outside any invocation's timeout), reused while warm, killed when an invocation outlives the plan's timeout.
 */
import { buildSync } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EnvironmentBudget, ReclaimablePool } from './environment-budget.ts';
import type { InvokeMessage, WorkerData, WorkerReply } from './worker.ts';

export interface FunctionDefinition {
  readonly name: string;
  readonly codeDir: string;
  readonly handler: string;
  readonly arn: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly logGroupName: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The plan's reserved_concurrent_executions: invocations beyond it are throttled (0 throttles them all). */
  readonly reservedConcurrency?: number;
  /** Provisioned concurrency on one qualifier (an alias): environments initialized before any invocation. */
  readonly provisioned?: { readonly qualifier: string; readonly environments: number };
}

/** Why Lambda throttled an invocation, as its TooManyRequestsException names it. */
export type ThrottleReason = 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'CallerRateLimitExceeded';

export type InvokeResult =
  | { readonly status: 'ok'; readonly payload: unknown }
  | { readonly status: 'throttled'; readonly errorMessage: string; readonly reason: ThrottleReason }
  | { readonly status: 'error'; readonly errorType: string; readonly errorMessage: string }
  | { readonly status: 'timeout'; readonly errorMessage: string }
  | { readonly status: 'crashed'; readonly errorMessage: string };

/** Where a line goes: `source` names the function (or the gateway); `stream` is a function environment's log stream. */
export type LogSink = (source: string, line: string, stream?: string) => void;

/** What the Lambda service would report about one invocation (metrics and the invocation's trace segment). */
export interface InvocationRecord {
  readonly functionName: string;
  readonly status: InvokeResult['status'];
  readonly start: number;
  readonly end: number;
  /** Invocations in flight when this one started, itself included. */
  readonly concurrent: number;
  /** The qualifier invoked (`$LATEST`, a version or an alias). */
  readonly qualifier: string;
  /** The version that ran: an alias's version, or the one its weights picked. */
  readonly executedVersion: string;
  /**
   * For an invocation of the provisioned qualifier: whether a provisioned environment ran it, or it spilled over
   * to an on-demand one; and the provisioned environments busy then, this one included.
   */
  readonly provisioned?: { readonly served: boolean; readonly busy: number; readonly environments: number };
  /** It waited for a new environment's Init (a cold start). */
  readonly coldStart: boolean;
  readonly traceId: string;
  readonly segmentId: string;
  readonly errorMessage?: string;
}

export interface PoolHooks {
  readonly observe?: (record: InvocationRecord) => void;
  /** Consulted per invocation: refuse it (throttle) or kill its environment mid-invocation (crash). */
  readonly fault?: (functionName: string, executedVersion: string) => 'throttle' | 'crash' | undefined;
  readonly traceContext: () => { traceId: string; segmentId: string; header: string };
  /** Shared memory of a test's FunctionClock: the environments' Date reads it. */
  readonly clock?: SharedArrayBuffer;
  /** The stack's budget of environments across functions: a new on-demand one may reclaim another's idle one. */
  readonly budget?: EnvironmentBudget;
}

type InitOutcome = { readonly ok: true } | { readonly ok: false; readonly errorType: string; readonly errorMessage: string };

interface Environment {
  readonly worker: Worker;
  /** Kept initialized for the provisioned qualifier's invocations, never reclaimed while idle. */
  readonly provisioned: boolean;
  /** Its Init succeeded: a provisioned environment that ends after that is replaced. */
  initializedOk: boolean;
  readonly logStream: string;
  /** Settles when the Init phase has run: an invocation's timeout and deadline start only after it, as on Lambda. */
  readonly initialized: Promise<InitOutcome>;
  pending?: { id: number; settle: (result: InvokeResult) => void };
  /** When it last became idle (performance.now()): the budget reclaims the stack's least recently used. */
  idleSince: number;
  /** Its thread's CPU as of its last reply: its Init's, and everything since. */
  initCpuMicros: number;
  threadCpuMicros: number;
}

/** CPU a function's environments have used (as of their last replies), ended environments included. */
export interface FunctionCpu {
  /** Init phases (importing the bundle, building clients): cold starts. */
  readonly initMicros: number;
  /** Everything else: invocations and what their environments did between them. */
  readonly invokeMicros: number;
}

/** Where an invocation ran: in a new environment (cold start), and for the provisioned qualifier, on what. */
interface Placement {
  readonly coldStart: boolean;
  readonly provisioned?: InvocationRecord['provisioned'];
}

/** Node options that load code before the module, each followed by its value unless written `--flag=value`. */
const LOADER_OPTIONS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * V8's own options that Node documents (nodejs.org/api/cli.html, "V8 options", Node 22; read 2026-12-03), the
 * value-taking ones mapped to true. They are process-wide: every isolate, the workers' included, already runs with
 * them, and a Worker given one in its execArgv refuses to start (ERR_WORKER_INVALID_EXEC_ARGV).
 */
const V8_OPTIONS = new Map<string, boolean>([
  ['--abort-on-uncaught-exception', false],
  ['--disallow-code-generation-from-strings', false],
  ['--enable-etw-stack-walking', false],
  ['--expose-gc', false],
  ['--harmony-shadow-realm', false],
  ['--huge-max-old-generation-size', false],
  ['--interpreted-frames-native-stack', false],
  ['--jitless', false],
  ['--max-old-space-size', true],
  ['--max-semi-space-size', true],
  ['--perf-basic-prof', false],
  ['--perf-basic-prof-only-functions', false],
  ['--perf-prof', false],
  ['--perf-prof-unwinding-info', false],
  ['--stack-trace-limit', true],
]);

/**
 * The Node options a function environment runs with: this process's, minus module loaders, source maps and V8's
 * process-wide options (in force in the worker anyway).
 * Worker threads inherit their parent's options, and the local stack runs under tsx (`npm start`, the benches),
 * whose loader hooks and source maps made every cold start about four times the CPU of plain Node
 * (docs/performance.md). Lambda runs a bundle with neither; diagnostic options (--cpu-prof, …) are kept.
 */
export function functionExecArgv(parent: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const option = parent[i] as string;
    if (option === '--enable-source-maps') continue;
    if (LOADER_OPTIONS.has(option)) {
      i++;
      continue;
    }
    const [name = option, value] = option.split('=');
    if (LOADER_OPTIONS.has(name)) continue;
    const v8TakesValue = V8_OPTIONS.get(name.replaceAll('_', '-'));
    if (v8TakesValue !== undefined) {
      if (v8TakesValue && value === undefined) i++;
      continue;
    }
    kept.push(option);
  }
  return kept;
}

let workerScript: string | undefined;

/** Worker threads cannot load TypeScript, so the runtime shim is compiled once per process. */
function compiledWorker(): string {
  if (!workerScript) {
    const outfile = path.join(tmpdir(), `wschat-lambda-worker-${process.pid}.mjs`);
    buildSync({
      entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'warning',
    });
    workerScript = outfile;
  }
  return workerScript;
}

export class FunctionPool implements ReclaimablePool {
  private readonly idle: Environment[] = [];
  private readonly provisionedIdle: Environment[] = [];
  private provisionedBusy = 0;
  private readonly all = new Set<Environment>();
  private readonly waiting: ((env: Environment) => void)[] = [];
  private nextId = 0;
  private closed = false;
  private inFlight = 0;
  private coldStartCount = 0;
  private endedCpu = { initMicros: 0, invokeMicros: 0 };

  constructor(
    readonly definition: FunctionDefinition,
    private readonly log: LogSink,
    private readonly hooks: PoolHooks,
    /** Environments per function; more invocations queue. Kept small: a laptop is not a Lambda fleet. */
    private readonly maxEnvironments = 16,
  ) {
    hooks.budget?.add(this);
  }

  get concurrency(): number {
    return this.inFlight;
  }

  /** Invocations so far that waited for a new environment's Init (provisioned environments' Init at boot is none). */
  get coldStarts(): number {
    return this.coldStartCount;
  }

  get cpu(): FunctionCpu {
    let { initMicros, invokeMicros } = this.endedCpu;
    for (const env of this.all) {
      initMicros += env.initCpuMicros;
      invokeMicros += env.threadCpuMicros - env.initCpuMicros;
    }
    return { initMicros, invokeMicros };
  }

  /** Environments alive, busy or idle: each is a worker thread with its own heap. */
  get environments(): number {
    return this.all.size;
  }

  /** Initializes the provisioned environments, as Lambda does before an alias's provisioned concurrency is READY. */
  async provision(): Promise<void> {
    const count = this.definition.provisioned?.environments ?? 0;
    const environments = Array.from({ length: count }, () => this.spawn(true));
    await Promise.all(
      environments.map(async (env) => {
        const init = await env.initialized;
        if (init.ok) return this.release(env);
        // Lambda reports the allocation FAILED; the alias's invocations then run on demand.
        this.log(this.definition.name, `provisioned concurrency FAILED: ${init.errorType}: ${init.errorMessage}`, env.logStream);
        await this.discard(env);
      }),
    );
  }

  /** Provisioned environments alive (initialized or being replaced). */
  private get provisionedEnvironments(): number {
    return [...this.all].filter((env) => env.provisioned).length;
  }

  /** `executedVersion`: what an alias resolved to for this call (aliases.ts); a version or $LATEST runs itself. */
  async invoke(event: unknown, qualifier = '$LATEST', executedVersion = qualifier): Promise<InvokeResult> {
    const trace = this.hooks.traceContext();
    const fault = this.hooks.fault?.(this.definition.name, executedVersion);
    this.inFlight++;
    const concurrent = this.inFlight;
    let result: InvokeResult;
    // Duration starts when an environment takes the invocation, not while it waits for one.
    let start = Date.now();
    let placement: Placement = { coldStart: false };
    try {
      if (this.closed) result = { status: 'crashed', errorMessage: `${this.definition.name} is shut down` };
      else if (fault === 'throttle') result = { status: 'throttled', errorMessage: 'Rate Exceeded.', reason: 'CallerRateLimitExceeded' };
      else if (this.definition.reservedConcurrency !== undefined && concurrent > this.definition.reservedConcurrency) {
        result = { status: 'throttled', errorMessage: 'Rate Exceeded.', reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
      }
      else {
        result = await this.run(event, qualifier, trace.header, fault === 'crash', (at, placed) => {
          start = at;
          placement = placed;
        });
      }
    } finally {
      this.inFlight--;
    }
    if (placement.coldStart) this.coldStartCount++;
    this.hooks.observe?.({
      functionName: this.definition.name,
      status: result.status,
      start,
      end: Date.now(),
      concurrent,
      qualifier,
      executedVersion,
      provisioned: placement.provisioned,
      coldStart: placement.coldStart,
      traceId: trace.traceId,
      segmentId: trace.segmentId,
      errorMessage: 'errorMessage' in result ? result.errorMessage : undefined,
    });
    return result;
  }

  private async run(
    event: unknown,
    qualifier: string,
    traceHeader: string,
    crash: boolean,
    started: (at: number, placement: Placement) => void,
  ): Promise<InvokeResult> {
    const provisioned = this.definition.provisioned;
    const viaProvisioned = provisioned !== undefined && provisioned.qualifier === qualifier;
    // An invocation of the provisioned alias takes an idle provisioned environment; without one it spills over.
    const reserved = viaProvisioned ? this.provisionedIdle.pop() : undefined;
    const { env, spawned } = reserved ? { env: reserved, spawned: false } : await this.acquire();
    if (reserved) this.provisionedBusy++;
    try {
      const init = await env.initialized;
      if (!init.ok) {
        // A failed Init leaves nothing to reuse; Lambda tries a fresh Init on the next invocation.
        await this.discard(env);
        return { status: 'error', errorType: init.errorType, errorMessage: init.errorMessage };
      }
      started(Date.now(), {
        coldStart: spawned,
        ...(viaProvisioned ? { provisioned: { served: reserved !== undefined, busy: this.provisionedBusy, environments: provisioned.environments } } : {}),
      });
      return await this.execute(env, event, traceHeader, crash);
    } finally {
      if (reserved) this.provisionedBusy--;
    }
  }

  private async execute(env: Environment, event: unknown, traceHeader: string, crash: boolean): Promise<InvokeResult> {
    const requestId = randomUUID();
    const id = ++this.nextId;
    const { timeoutMs } = this.definition;
    const result = await new Promise<InvokeResult>((settle) => {
      env.pending = { id, settle };
      const timer = setTimeout(() => {
        this.log(this.definition.name, `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (${requestId})`, env.logStream);
        settle({ status: 'timeout', errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` });
        void this.discard(env);
      }, timeoutMs);
      const original = settle;
      env.pending.settle = (r) => {
        clearTimeout(timer);
        original(r);
      };
      const message: InvokeMessage = {
        id,
        event,
        requestId,
        deadline: Date.now() + timeoutMs,
        traceHeader,
      };
      env.worker.postMessage(message);
      // An injected crash kills the environment mid-invocation, as an out-of-memory kill would.
      if (crash) setTimeout(() => void env.worker.terminate(), 5);
    });
    if (this.all.has(env)) this.release(env);
    return result;
  }

  oldestIdleSince(): number | undefined {
    // Released environments are pushed and reused from the end, so the first has been idle longest.
    return this.idle[0]?.idleSince;
  }

  reclaimOldestIdle(): void {
    const env = this.idle[0];
    if (env) void this.discard(env);
  }

  /** Ends every idle on-demand environment, as Lambda reclaims unused ones; the next invocation cold-starts. */
  async discardIdle(): Promise<void> {
    await Promise.all([...this.idle].map((env) => this.discard(env)));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((env) => this.discard(env)));
  }

  /** An on-demand environment: an idle one, a new one (a cold start), or the next one released. */
  private acquire(): Promise<{ env: Environment; spawned: boolean }> {
    const env = this.idle.pop();
    if (env) return Promise.resolve({ env, spawned: false });
    if (this.onDemandCount() < this.maxEnvironments) return Promise.resolve({ env: this.spawnOnDemand(), spawned: true });
    return new Promise((resolve) => this.waiting.push((next) => resolve({ env: next, spawned: false })));
  }

  private onDemandCount(): number {
    return this.all.size - this.provisionedEnvironments;
  }

  private release(env: Environment): void {
    env.pending = undefined;
    env.idleSince = performance.now();
    if (env.provisioned) return void this.provisionedIdle.push(env);
    const next = this.waiting.shift();
    if (next) next(env);
    else this.idle.push(env);
  }

  private spawnOnDemand(): Environment {
    this.hooks.budget?.makeRoom();
    return this.spawn(false);
  }

  private spawn(provisioned: boolean): Environment {
    const d = this.definition;
    const logStream = `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomUUID().replace(/-/g, '')}`;
    const data: WorkerData = {
      codeDir: d.codeDir,
      handler: d.handler,
      functionName: d.name,
      functionArn: d.arn,
      memoryMb: d.memoryMb,
      logGroupName: d.logGroupName,
      ...(this.hooks.clock ? { clock: this.hooks.clock } : {}),
    };
    const worker = new Worker(compiledWorker(), {
      workerData: data,
      env: { ...d.environment, AWS_LAMBDA_LOG_STREAM_NAME: logStream },
      execArgv: functionExecArgv(process.execArgv),
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: d.memoryMb },
    });
    let initDone: (outcome: InitOutcome) => void = () => undefined;
    const initialized = new Promise<InitOutcome>((resolve) => (initDone = resolve));
    const env: Environment = {
      worker,
      provisioned,
      initializedOk: false,
      logStream,
      initialized,
      idleSince: performance.now(),
      initCpuMicros: 0,
      threadCpuMicros: 0,
    };
    for (const stream of [worker.stdout, worker.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => this.log(d.name, line, logStream));
    }
    worker.on('message', (reply: WorkerReply) => {
      env.threadCpuMicros = reply.threadCpuMicros;
      if (reply.kind === 'init') {
        env.initCpuMicros = reply.threadCpuMicros;
        env.initializedOk = reply.ok;
        if (reply.ok) this.log(d.name, `INIT ${provisioned ? 'provisioned' : 'cold start'} ${reply.initMs} ms`, logStream);
        initDone(reply.ok ? { ok: true } : { ok: false, errorType: reply.errorType, errorMessage: reply.errorMessage });
        return;
      }
      if (env.pending?.id !== reply.id) return;
      if (reply.ok) env.pending.settle({ status: 'ok', payload: reply.payload });
      else env.pending.settle({ status: 'error', errorType: reply.errorType, errorMessage: reply.errorMessage });
    });
    worker.on('error', (error) => {
      initDone({ ok: false, errorType: 'Runtime.ExitError', errorMessage: `Runtime exited: ${error.message}` });
      env.pending?.settle({ status: 'crashed', errorMessage: `Runtime exited: ${error.message}` });
      this.forget(env);
    });
    worker.on('exit', (code) => {
      initDone({ ok: false, errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with code ${code}` });
      env.pending?.settle({ status: 'crashed', errorMessage: `Runtime exited with code ${code}` });
      this.forget(env);
    });
    this.all.add(env);
    return env;
  }

  private forget(env: Environment): void {
    env.pending = undefined;
    if (this.all.delete(env)) {
      this.endedCpu = {
        initMicros: this.endedCpu.initMicros + env.initCpuMicros,
        invokeMicros: this.endedCpu.invokeMicros + env.threadCpuMicros - env.initCpuMicros,
      };
    }
    for (const list of [this.idle, this.provisionedIdle]) {
      const at = list.indexOf(env);
      if (at >= 0) list.splice(at, 1);
    }
    if (this.closed) return;
    // Lambda replaces a provisioned environment that ended; it is ready again once its Init has run.
    if (env.provisioned && env.initializedOk) {
      const replacement = this.spawn(true);
      void replacement.initialized.then((init) => {
        if (!this.all.has(replacement)) return;
        if (init.ok) this.release(replacement);
        else void this.discard(replacement);
      });
      return;
    }
    // A waiter that lost its environment gets a fresh one.
    if (this.waiting.length && this.onDemandCount() < this.maxEnvironments) this.waiting.shift()?.(this.spawnOnDemand());
  }

  private async discard(env: Environment): Promise<void> {
    this.forget(env);
    await env.worker.terminate();
  }
}
