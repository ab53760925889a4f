/**
 * The wall clock the functions read (`Date.now()`, `new Date()`) in the local stack's environments, when a test
 * asks for one it can stop and move: a limit counted on the functions' clock (the send window) then cannot end
 * behind a busy machine's back, and a test waits out a window by moving the clock instead of sleeping through it.
 * Timers are not affected: a function's own timeout and the SDK's retries still run on real time.
 *
 * Shared memory, so every worker thread reads the same instant without a message round trip.
 */
const RUNNING = -1n;

export class FunctionClock {
  readonly buffer = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
  /** [0]: the instant the clock stopped at, or RUNNING; [1]: offset from real time while it runs. */
  private readonly cells = new BigInt64Array(this.buffer);

  constructor() {
    Atomics.store(this.cells, 0, RUNNING);
  }

  now(): number {
    return readClock(this.cells, Date.now);
  }

  /** Stops the functions' clock at the current instant. */
  stop(): void {
    Atomics.store(this.cells, 0, BigInt(this.now()));
  }

  advance(ms: number): void {
    if (!(Number.isInteger(ms) && ms >= 0)) throw new Error(`the functions' clock moves forward by whole ms; got ${ms}`);
    const stoppedAt = Atomics.load(this.cells, 0);
    if (stoppedAt === RUNNING) Atomics.add(this.cells, 1, BigInt(ms));
    else Atomics.store(this.cells, 0, stoppedAt + BigInt(ms));
  }

  /** Lets the clock run on from where it stands (stopped and advanced time is kept as an offset). */
  resume(): void {
    const stoppedAt = Atomics.load(this.cells, 0);
    if (stoppedAt === RUNNING) return;
    Atomics.store(this.cells, 1, stoppedAt - BigInt(Date.now()));
    Atomics.store(this.cells, 0, RUNNING);
  }
}

function readClock(cells: BigInt64Array, realNow: () => number): number {
  const stoppedAt = Atomics.load(cells, 0);
  return Number(stoppedAt === RUNNING ? BigInt(realNow()) + Atomics.load(cells, 1) : stoppedAt);
}

/** In an environment (worker thread), before the bundle loads: `Date` reads the shared clock. */
export function installFunctionClock(buffer: SharedArrayBuffer): void {
  const cells = new BigInt64Array(buffer);
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => readClock(cells, realNow);
  class FunctionDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return now();
    }
  }
  // `Date()` called without `new` returns a string of the current time.
  globalThis.Date = new Proxy(FunctionDate, {
    apply: () => new FunctionDate().toString(),
  }) as DateConstructor;
}
