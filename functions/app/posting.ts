import { isTransient } from '../domain/errors.ts';
import { nextPostRetryDelayMs } from '../domain/fanout.ts';
import type { ConnectionNotifier } from './ports.ts';

export type RetriedPost =
  | { readonly outcome: 'delivered' | 'gone' }
  /** Failed for good: neither throttling nor a fault that may pass. */
  | { readonly outcome: 'failed'; readonly error: unknown }
  /** Still throttled or failing transiently when the policy gave up, or out of time: a later try may reach it. */
  | { readonly outcome: 'unreached'; readonly attempts: number; readonly lastFailure?: unknown };

/** What a throttled post (LimitExceeded, answered without throwing) is reported as. */
const THROTTLED = 'throttled (LimitExceeded)';

/**
 * Posts one frame, retrying a throttled or transiently failing post as nextPostRetryDelayMs says. `hasTime` is
 * asked before every try; once it says no, the post is left unreached.
 */
export async function postWithRetry(
  notifier: ConnectionNotifier,
  connectionId: string,
  frame: Parameters<ConnectionNotifier['post']>[1],
  hasTime: () => boolean = () => true,
): Promise<RetriedPost> {
  let lastFailure: unknown;
  for (let attempts = 0; ; ) {
    if (!hasTime()) return { outcome: 'unreached', attempts, lastFailure };
    attempts++;
    try {
      const outcome = await notifier.post(connectionId, frame);
      if (outcome !== 'throttled') return { outcome };
      lastFailure = THROTTLED;
    } catch (error) {
      if (!isTransient(error)) return { outcome: 'failed', error };
      lastFailure = error;
    }
    const delayMs = nextPostRetryDelayMs(attempts);
    if (delayMs === undefined) return { outcome: 'unreached', attempts, lastFailure };
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
