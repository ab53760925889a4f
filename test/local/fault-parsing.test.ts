/** The faults API's validation (every refusal names what is wrong; a table-scoped DynamoDB fault is accepted), and the controller's record of when a fault was last in force. */
import { describe, expect, it } from 'vitest';
import { FaultController, parseFault } from '../../local/faults.ts';

describe('parseFault', () => {
  it('accepts each kind with what it needs', () => {
    expect(parseFault({ kind: 'dynamodb-throttle' })).toEqual({ kind: 'dynamodb-throttle' });
    expect(parseFault({ kind: 'sqs-unreachable' })).toEqual({ kind: 'sqs-unreachable' });
    expect(parseFault({ kind: 'dynamodb-system-error', tableName: 'wschat-dev-memberships' })).toEqual({
      kind: 'dynamodb-system-error',
      tableName: 'wschat-dev-memberships',
    });
    expect(parseFault({ kind: 'slow-fanout', delayMs: 100 })).toEqual({ kind: 'slow-fanout', delayMs: 100 });
    // $connect's lookups of a slot's holder (GET) fail, posts do not.
    expect(parseFault({ kind: 'connections-api-error', method: 'GET' })).toEqual({ kind: 'connections-api-error', method: 'GET' });
    expect(parseFault({ kind: 'function-crash', functionName: 'wschat-dev-ping' })).toMatchObject({ functionName: 'wschat-dev-ping' });
    // A bad deploy: only the version a rollout is shifting traffic to crashes.
    expect(parseFault({ kind: 'function-crash', functionName: 'wschat-dev-ping', version: '3' })).toEqual({ kind: 'function-crash', functionName: 'wschat-dev-ping', version: '3' });
  });

  it.each([
    [null, /^kind must be one of: dynamodb-unreachable, /],
    [{ kind: 'meteor' }, /^kind must be one of/],
    [{ kind: 'dynamodb-slow' }, /^dynamodb-slow needs delayMs, a positive whole number$/],
    [{ kind: 'slow-fanout', delayMs: 1.5 }, /^slow-fanout needs delayMs/],
    [{ kind: 'function-throttle', functionName: '' }, /^function-throttle needs functionName$/],
    [{ kind: 'dynamodb-throttle', tableName: '' }, /^dynamodb-throttle: tableName, when given, must be a table's name$/],
    [{ kind: 'dynamodb-system-error', tableName: 7 }, /^dynamodb-system-error: tableName/],
    [{ kind: 'function-crash', functionName: 'wschat-dev-ping', version: '$LATEST' }, /^function-crash: version, when given, must be a published version number$/],
    [{ kind: 'function-crash', functionName: 'wschat-dev-ping', version: 3 }, /^function-crash: version, when given/],
    [{ kind: 'connections-api-error', method: 'PATCH' }, /^connections-api-error: method, when given, must be one of POST, GET, DELETE$/],
  ])('refuses %j', (input, message) => {
    expect(() => parseFault(input)).toThrow(message);
  });
});

describe('whether a stack ever had a fault (a drill waits out alarm windows only after one)', () => {
  it('is false before any fault, and stays true once one was injected, cleared or not', () => {
    const faults = new FaultController();
    faults.clear('dynamodb-slow');
    expect(faults.hasHadFaults()).toBe(false);
    faults.inject({ kind: 'lost-disconnects' });
    expect(faults.hasHadFaults()).toBe(true);
    faults.clear();
    expect(faults.list()).toEqual([]);
    expect(faults.hasHadFaults()).toBe(true);
  });
});
