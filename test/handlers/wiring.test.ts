/**
 * Each handler wires only the adapters its function uses (functions/runtime/deps.ts), so bundles carry no
 * client they never call: the wiring must match what the catalog grants each function, and a function wired
 * without something must fail loudly when it is asked for it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { FUNCTION_NAMES, FUNCTIONS } from '../../functions/catalog/functions.ts';
import { createDeps } from '../../functions/runtime/deps.ts';
import { lambdaDispatcher } from '../../functions/runtime/lambda.ts';

const handlerSource = (name: string) => readFileSync(path.join(import.meta.dirname, '..', '..', 'functions', 'handlers', `${name}.ts`), 'utf8');
const LARGE_ROOM_ENV = { [ENV.fanoutFunction]: 'wschat-test-fanout', [ENV.fanoutAsyncThreshold]: '200', [ENV.fanoutShardSize]: '100' };

afterEach(() => {
  for (const name of Object.keys(LARGE_ROOM_ENV)) delete process.env[name];
});

describe('handler wiring', () => {
  it.each(FUNCTION_NAMES)('%s imports the DynamoDB store only if granted tables, the Lambda dispatcher only if it broadcasts', (name) => {
    const source = handlerSource(name);
    expect(source.includes("from '../runtime/dynamodb.ts'"), 'dynamoStore').toBe(FUNCTIONS[name].tables.length > 0);
    expect(source.includes("from '../runtime/lambda.ts'"), 'lambdaDispatcher').toBe(FUNCTIONS[name].broadcasts);
  });

  it('gives a function wired without a store one whose every call rejects, naming the call', async () => {
    const deps = createDeps({});
    await expect(deps.store.getMembership('room', 'c1', Date.now())).rejects.toThrow(
      'this function is wired without a store (ChatStore.getMembership)',
    );
  });

  it('refuses to wire a function told to hand large rooms over but wired without a dispatcher', () => {
    Object.assign(process.env, LARGE_ROOM_ENV);
    expect(() => createDeps({})).toThrow(`${ENV.fanoutFunction} is set, but this function is wired without a fan-out dispatcher`);
    expect(createDeps({ dispatcher: lambdaDispatcher }).fanout.largeRooms).toMatchObject({ threshold: 200, shardSize: 100 });
  });
});
