import { describe, expect, it } from 'vitest';
import { auditDeliveries } from '../../bench/storm-ledger.ts';

const acked = new Map([
  ['a', new Map([[1, 'a1'], [2, 'a2'], [3, 'a3']])],
  ['b', new Map([[1, 'b1']])],
]);
const all = (room: 'a' | 'b') => [...(acked.get(room) as Map<number, string>)].map(([seq, id]) => ({ seq, id }));

describe('the storm ledger', () => {
  it('passes clients that delivered every acknowledged message of their room once', () => {
    const audit = auditDeliveries(acked, [
      { client: 'x', room: 'a', delivered: all('a') },
      { client: 'y', room: 'b', delivered: all('b') },
    ]);
    expect(audit).toEqual({ lost: 0, duplicated: 0, foreign: 0, examples: [] });
  });

  it('counts a missing seq as lost, naming the client, room and seq', () => {
    const audit = auditDeliveries(acked, [{ client: 'x', room: 'a', delivered: [{ seq: 1, id: 'a1' }, { seq: 3, id: 'a3' }] }]);
    expect(audit).toMatchObject({ lost: 1, duplicated: 0, foreign: 0 });
    expect(audit.examples).toEqual(['x never delivered a seq 2']);
  });

  it('counts a seq delivered twice as duplicated, once', () => {
    const audit = auditDeliveries(acked, [{ client: 'y', room: 'b', delivered: [...all('b'), ...all('b')] }]);
    expect(audit).toMatchObject({ lost: 0, duplicated: 1, foreign: 0 });
  });

  it('counts another message under an acknowledged seq, and a seq never acknowledged, as foreign', () => {
    const audit = auditDeliveries(acked, [
      { client: 'x', room: 'a', delivered: [{ seq: 1, id: 'a1' }, { seq: 2, id: 'b1' }, { seq: 3, id: 'a3' }, { seq: 4, id: 'a4' }] },
    ]);
    expect(audit).toMatchObject({ lost: 0, duplicated: 0, foreign: 2 });
    expect(audit.examples).toEqual(['x delivered a seq 2 as b1, acknowledged as a2', 'x delivered a seq 4 as a4, acknowledged as nothing']);
  });

  it('keeps ten examples however many violations there are', () => {
    const clients = Array.from({ length: 20 }, (_, i) => ({ client: `c${i}`, room: 'b', delivered: [] }));
    const audit = auditDeliveries(acked, clients);
    expect(audit.lost).toBe(20);
    expect(audit.examples).toHaveLength(10);
  });
});
