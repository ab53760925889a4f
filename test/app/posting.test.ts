/**
 * postWithRetry, the one retry loop every post goes through (replies and fan-outs). The notifier is a scripted
 * port: throttling and transient 5xx answers come from a real @connections endpoint only under load or faults
 * the other suites produce (test/app/fanout.test.ts, test/reliability/faults.test.ts); here each answer is chosen.
 */
import { describe, expect, it } from 'vitest';
import { postWithRetry } from '../../functions/app/posting.ts';
import type { ConnectionNotifier, PostOutcome } from '../../functions/app/ports.ts';
import { POST_RETRY } from '../../functions/domain/fanout.ts';

type Answer = PostOutcome | Error;

/** Answers each post with the next scripted answer (throwing the errors); counts the posts. */
function scripted(...answers: Answer[]): ConnectionNotifier & { readonly posts: number } {
  let posts = 0;
  return {
    get posts() {
      return posts;
    },
    async post() {
      const answer = answers[Math.min(posts++, answers.length - 1)] as Answer;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async disconnect(connectionId: string): Promise<boolean> {
      throw new Error(`unexpected disconnect of ${connectionId}`);
    },
    async isOpen(connectionId: string): Promise<boolean> {
      throw new Error(`unexpected lookup of ${connectionId}`);
    },
  };
}

const transient = () => Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' });
const frame = { type: 'pong' } as const;

describe('postWithRetry', () => {
  it('returns at once what a first post that went through says: delivered or gone', async () => {
    for (const outcome of ['delivered', 'gone'] as const) {
      const notifier = scripted(outcome);
      expect(await postWithRetry(notifier, 'c1', frame)).toEqual({ outcome });
      expect(notifier.posts).toBe(1);
    }
  });

  it('retries throttled and transiently failing posts until one goes through', async () => {
    const notifier = scripted('throttled', transient(), 'throttled', 'delivered');
    expect(await postWithRetry(notifier, 'c1', frame)).toEqual({ outcome: 'delivered' });
    expect(notifier.posts).toBe(POST_RETRY.attempts);
  });

  it('leaves a post unreached after POST_RETRY.attempts tries, with the last failure', async () => {
    const throttled = scripted('throttled');
    expect(await postWithRetry(throttled, 'c1', frame)).toEqual({
      outcome: 'unreached',
      attempts: POST_RETRY.attempts,
      lastFailure: 'throttled (LimitExceeded)',
    });
    expect(throttled.posts).toBe(POST_RETRY.attempts);

    const error = transient();
    const failing = scripted(error);
    expect(await postWithRetry(failing, 'c1', frame)).toEqual({ outcome: 'unreached', attempts: POST_RETRY.attempts, lastFailure: error });
  });

  it('does not retry a failure that is not transient', async () => {
    const error = new Error('bad request');
    const notifier = scripted(error, 'delivered');
    expect(await postWithRetry(notifier, 'c1', frame)).toEqual({ outcome: 'failed', error });
    expect(notifier.posts).toBe(1);
  });

  it('stops trying once hasTime says no, before the first try or between tries', async () => {
    const untried = scripted('delivered');
    expect(await postWithRetry(untried, 'c1', frame, () => false)).toEqual({ outcome: 'unreached', attempts: 0, lastFailure: undefined });
    expect(untried.posts).toBe(0);

    let checks = 0;
    const once = scripted('throttled', 'delivered');
    expect(await postWithRetry(once, 'c1', frame, () => checks++ < 1)).toEqual({
      outcome: 'unreached',
      attempts: 1,
      lastFailure: 'throttled (LimitExceeded)',
    });
    expect(once.posts).toBe(1);
  });
});
