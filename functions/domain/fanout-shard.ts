/**
 * The fan-out function's event, validated. Apart from domain/fanout.ts so that what only reads the fan-out
 * bounds (the environment catalog, every function's cold start) does not build zod schemas.
 */
import * as z from 'zod';
import { FANOUT_SHARD_SIZE_BOUNDS, MAX_SHARD_CONTINUATIONS, type FanoutShard } from './fanout.ts';
import { ROOM_PATTERN, USER_ID_PATTERN } from './protocol-rules.ts';

const recipient = z.object({
  connectionId: z.string().min(1).max(128),
  userId: z.string().regex(USER_ID_PATTERN),
  sessionEndsAt: z.number().int().min(0).optional(),
});

/** The fan-out function's event. It comes from our own send path, but a bad one must fail loudly, not half-deliver. */
const fanoutShardSchema = z.object({
  room: z.string().regex(ROOM_PATTERN),
  frame: z.looseObject({ type: z.string().min(1) }),
  recipients: z.array(recipient).min(1).max(FANOUT_SHARD_SIZE_BOUNDS.max),
  attempt: z.number().int().min(0).max(MAX_SHARD_CONTINUATIONS),
  startedAt: z.number().int().min(0),
});

export function parseFanoutShard(event: unknown): FanoutShard {
  const parsed = fanoutShardSchema.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
    throw new Error(`invalid fan-out shard: ${issues}`);
  }
  return parsed.data;
}
