import { describe, expect, it } from 'vitest';
import {
  cutShards,
  FANOUT_SHARD_SIZE_BOUNDS,
  isLargeRoom,
  MAX_SHARD_CONTINUATIONS,
  nextPostRetryDelayMs,
  POST_RETRY,
  postRetryDelayMs,
} from '../../functions/domain/fanout.ts';
import { parseFanoutShard } from '../../functions/domain/fanout-shard.ts';

const shard = {
  room: 'general',
  frame: { type: 'message', room: 'general', seq: 1, id: 'm', user: 'alice', text: 'hi', ts: 1 },
  recipients: [{ connectionId: 'c1', userId: 'bob' }],
  attempt: 0,
  startedAt: 1_700_000_000_000,
};

describe('large rooms', () => {
  it('are the rooms with more recipients than the threshold, when there is a policy', () => {
    expect(isLargeRoom(201, { threshold: 200, shardSize: 100 })).toBe(true);
    expect(isLargeRoom(200, { threshold: 200, shardSize: 100 })).toBe(false);
    expect(isLargeRoom(1_000_000, undefined)).toBe(false);
  });

  it('are cut into shards of at most the shard size, keeping every recipient once and in order', () => {
    expect(cutShards([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(cutShards([1, 2], 5)).toEqual([[1, 2]]);
    expect(cutShards([], 5)).toEqual([]);
    expect(() => cutShards([1], 0)).toThrow(/shard size must be a whole number >= 1, got 0/);
  });
});

describe('the fan-out shard event', () => {
  it('parses a well-formed shard, keeping the frame whole', () => {
    expect(parseFanoutShard(shard)).toEqual(shard);
  });

  it.each([
    ['no recipients', { ...shard, recipients: [] }, /recipients/],
    ['too many recipients', { ...shard, recipients: Array.from({ length: FANOUT_SHARD_SIZE_BOUNDS.max + 1 }, (_, i) => ({ connectionId: `c${i}`, userId: 'u' })) }, /recipients/],
    ['a bad room', { ...shard, room: 'no spaces allowed' }, /room/],
    ['a frame without a type', { ...shard, frame: { text: 'hi' } }, /frame\.type/],
    ['an attempt past the last continuation', { ...shard, attempt: MAX_SHARD_CONTINUATIONS + 1 }, /attempt/],
    ['a recipient without a connection id', { ...shard, recipients: [{ userId: 'bob' }] }, /recipients\.0\.connectionId/],
    ['not an object', 'hello', /\(event\)/],
  ])('rejects %s, naming the field', (_name, event, field) => {
    expect(() => parseFanoutShard(event)).toThrow(/^invalid fan-out shard: /);
    expect(() => parseFanoutShard(event)).toThrow(field);
  });
});

describe('post retry backoff', () => {
  it('draws a full-jitter delay under a ceiling that doubles per retry up to the maximum', () => {
    expect([0, 1, 2, 3, 10].map((retry) => postRetryDelayMs(retry, () => 1))).toEqual([50, 100, 200, 400, POST_RETRY.maxMs]);
    expect(postRetryDelayMs(3, () => 0)).toBe(0);
    expect(postRetryDelayMs(1, () => 0.5)).toBe(50);
  });

  it('retries after each of the first POST_RETRY.attempts - 1 tries, with the backoff of that try, then gives up', () => {
    const delays = Array.from({ length: POST_RETRY.attempts + 1 }, (_, i) => nextPostRetryDelayMs(i + 1, () => 1));
    expect(delays).toEqual([50, 100, 200, undefined, undefined]);
    expect(nextPostRetryDelayMs(1, () => 0)).toBe(0);
  });
});
