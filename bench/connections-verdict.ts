/** The verdict of bench/connections.ts, apart from the script so that each outcome can be tested. */

/** Issue #20: the gateway's memory per connection at most this many times the bare server's, in every round. */
export const IDLE_MEMORY_TARGET = 1.2;

/** One round: the gateway's RSS and main-thread heap+external per connection over the bare `ws` server's. */
export interface RoundRatios {
  readonly rss: number;
  readonly heap: number;
  /** False when a slope was at or below zero (the allocator's steps outweighed the connections): no ratio can be read. */
  readonly measurable: boolean;
}

/** Every round must meet the target on both ratios: a median would let one round in three miss it unseen. */
export function idleMemoryVerdict(rounds: readonly RoundRatios[], target = IDLE_MEMORY_TARGET): 'PASS' | 'FAIL' | 'INCONCLUSIVE' {
  if (rounds.length === 0 || rounds.some((r) => !r.measurable)) return 'INCONCLUSIVE';
  return rounds.every((r) => r.rss <= target && r.heap <= target) ? 'PASS' : 'FAIL';
}
