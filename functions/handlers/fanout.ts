import type { Context } from 'aws-lambda';
import { deliverShard } from '../app/fanout.ts';
import { parseFanoutShard } from '../domain/fanout-shard.ts';
import { createDeps } from '../runtime/deps.ts';
import { dynamoStore } from '../runtime/dynamodb.ts';
import { lambdaDispatcher } from '../runtime/lambda.ts';
import { logger } from '../runtime/observability.ts';
import { tracer, withPowertools } from '../runtime/tracing.ts';

const deps = createDeps({ store: dynamoStore, dispatcher: lambdaDispatcher });

/** Stops starting posts this long before the timeout, leaving time to hand the rest to a continuation. */
const CONTINUATION_MARGIN_MS = 5_000;

/**
 * Delivers one shard of a large room's fan-out (an asynchronous invocation from a function that broadcasts).
 * An invalid event or a continuation that cannot be handed over throws: Lambda retries the event, then sends it
 * to the on-failure destination (the dead-letter queue), which is alarmed.
 */
export const handler = withPowertools(async (event: unknown, context: Context): Promise<void> => {
  try {
    const shard = parseFanoutShard(event);
    logger.appendKeys({ room: shard.room, frameType: shard.frame.type, recipients: shard.recipients.length, attempt: shard.attempt });
    await deliverShard(deps, shard, () => context.getRemainingTimeInMillis() > CONTINUATION_MARGIN_MS);
    tracer.putAnnotation('outcome', 'ok');
  } catch (error) {
    tracer.putAnnotation('outcome', 'INTERNAL');
    throw error;
  }
});
