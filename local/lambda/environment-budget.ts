/**
 * How many function environments the local stack keeps alive across all its functions.
 *
 * Each environment is a worker thread with its own V8 heap: about 11 MB for the thread and 15–25 MB for a bundle
 * initialized and serving (measured 2026-12-04, docs/performance.md "Memory under load"). Lambda gives every
 * function its own fleet; one process on a laptop cannot, and a 1,000-client load run kept 64 environments alive
 * (2.2 GB), most of them idle: the authorizer's, `$connect`'s and join's from the connect phase while the sends ran.
 * At the budget, a new environment first ends the least recently used idle on-demand environment of any function,
 * as Lambda reclaims environments it has no use for; the function that owned it cold-starts next time.
 *
 * The budget never makes an invocation wait: with every environment busy, one more is created over the budget
 * rather than queue one function's invocation behind another's (the per-function cap still bounds each pool).
 * Nor does it reclaim what is in use: only an environment idle for RECLAIM_AFTER_IDLE_MS. Reclaiming the one idle
 * for milliseconds made functions that take turns (a room filling: authorizer, `$connect`, join, fan-out) evict
 * each other, and a drill filling a 201-member room cold-started until its connections hit their maximum age.
 * Provisioned environments count towards it but are never reclaimed: the plan keeps them initialized.
 */
export interface ReclaimablePool {
  /** Environments alive, busy or idle. */
  readonly environments: number;
  /** When its least recently used idle on-demand environment was last released; undefined with none idle. */
  oldestIdleSince(): number | undefined;
  /** Ends that environment. */
  reclaimOldestIdle(): void;
}

/** Enough for the connect path, send and fan-out to run side by side on a laptop; about 1 GB of environments. */
export const DEFAULT_ENVIRONMENT_BUDGET = 32;
/** Idle this long, an environment is no longer part of what the stack is doing (real time: a resource policy). */
export const RECLAIM_AFTER_IDLE_MS = 10_000;

export interface BudgetSettings {
  readonly limit?: number;
  readonly reclaimAfterIdleMs?: number;
}

export class EnvironmentBudget {
  private readonly pools: ReclaimablePool[] = [];

  readonly limit: number;
  private readonly reclaimAfterIdleMs: number;

  constructor(settings: BudgetSettings = {}, private readonly now: () => number = () => performance.now()) {
    this.limit = settings.limit ?? DEFAULT_ENVIRONMENT_BUDGET;
    this.reclaimAfterIdleMs = settings.reclaimAfterIdleMs ?? RECLAIM_AFTER_IDLE_MS;
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`the environment budget must be a whole number ≥ 1, got ${this.limit}`);
    if (!(this.reclaimAfterIdleMs >= 0)) throw new RangeError(`reclaimAfterIdleMs must be ≥ 0, got ${this.reclaimAfterIdleMs}`);
  }

  add(pool: ReclaimablePool): void {
    this.pools.push(pool);
  }

  /** Called before an on-demand environment is created: at the budget, reclaims the stack's oldest idle one. */
  makeRoom(): void {
    const alive = this.pools.reduce((sum, pool) => sum + pool.environments, 0);
    if (alive < this.limit) return;
    let oldest: { pool: ReclaimablePool; since: number } | undefined;
    const idleBefore = this.now() - this.reclaimAfterIdleMs;
    for (const pool of this.pools) {
      const since = pool.oldestIdleSince();
      if (since !== undefined && since <= idleBefore && (!oldest || since < oldest.since)) oldest = { pool, since };
    }
    oldest?.pool.reclaimOldestIdle();
  }
}
