/**
 * Fan-out of one frame to a room: when a room is large enough to go to the asynchronous fan-out function, how
 * its recipients are cut into shards, what a shard event carries, and how a throttled post backs off. Pure.
 */

/** Where a room's fan-out runs: in the calling function, or in shards handed to the fan-out function. */
export interface LargeRoomPolicy {
  /** Rooms with more recipients than this are fanned out asynchronously. */
  readonly threshold: number;
  /** Recipients per fan-out invocation. */
  readonly shardSize: number;
}

export const FANOUT_THRESHOLD_BOUNDS = { min: 1, max: 10_000 } as const;
/**
 * 1,000 recipients keep a shard event near 180 KB (connection and user ids, session ends, a 16 KB frame), under the
 * 256 KB that asynchronous invocations were limited to before October 2025, whatever Region or quota applies.
 */
export const FANOUT_SHARD_SIZE_BOUNDS = { min: 1, max: 1_000 } as const;

/** Continuations one shard may spawn for recipients still throttled or failing; after that they count as failed. */
export const MAX_SHARD_CONTINUATIONS = 3;

export interface Recipient {
  readonly connectionId: string;
  readonly userId: string;
  /**
   * When the connection's session ends (epoch seconds, domain/session.ts): a connection that only listens never
   * sends the frame that would be refused with SESSION_EXPIRED, so the fan-out closes it instead of posting.
   */
  readonly sessionEndsAt?: number;
}

/** One invocation's worth of a room fan-out. */
export interface FanoutShard {
  readonly room: string;
  /** The frame exactly as members get it (a message, presence or typing frame). */
  readonly frame: { readonly type: string };
  readonly recipients: readonly Recipient[];
  /** 0 for a shard cut by the sender; n for the n-th continuation of its leftovers. */
  readonly attempt: number;
  /** Epoch ms the fan-out started; gone connections found later are pruned as of then. */
  readonly startedAt: number;
}

export function isLargeRoom(recipients: number, policy: LargeRoomPolicy | undefined): policy is LargeRoomPolicy {
  return policy !== undefined && recipients > policy.threshold;
}

/** Cuts recipients into shards of at most `shardSize`, in order. */
export function cutShards<T>(recipients: readonly T[], shardSize: number): T[][] {
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`shard size must be a whole number >= 1, got ${shardSize}`);
  const shards: T[][] = [];
  for (let i = 0; i < recipients.length; i += shardSize) shards.push(recipients.slice(i, i + shardSize));
  return shards;
}

/** Backoff for a post answered LimitExceeded (the account's callback throttle): full jitter, doubling per try. */
export const POST_RETRY = { attempts: 4, baseMs: 50, maxMs: 1_000 } as const;

export function postRetryDelayMs(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(POST_RETRY.maxMs, POST_RETRY.baseMs * 2 ** retry);
  return Math.round(random() * ceiling);
}

/**
 * The retry policy of every post (replies and fan-outs): after `attempts` tries that were throttled or failed
 * transiently, the wait before the next; undefined once POST_RETRY.attempts tries were made.
 */
export function nextPostRetryDelayMs(attempts: number, random: () => number = Math.random): number | undefined {
  return attempts >= POST_RETRY.attempts ? undefined : postRetryDelayMs(attempts - 1, random);
}
