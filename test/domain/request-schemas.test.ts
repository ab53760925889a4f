/**
 * Request schemas are built on first use, once (functions/domain/protocol.ts): a getter returns the same schema
 * every time, so validating a frame never rebuilds one. test/infra/bundles.test.ts checks that functions that
 * validate no frame do not carry zod at all.
 */
import { describe, expect, it } from 'vitest';
import * as protocol from '../../functions/domain/protocol.ts';

const getters: [string, protocol.RequestSchema<unknown>][] = Object.entries(protocol).flatMap(([name, value]) =>
  // A getter takes no argument (parseRequest, which ends the same way, takes two).
  name.endsWith('Request') && typeof value === 'function' && value.length === 0 ? [[name, value as protocol.RequestSchema<unknown>]] : [],
);

describe('request schema getters', () => {
  it('are found: one per route that validates a frame', () => {
    expect(getters.map(([name]) => name)).toEqual(expect.arrayContaining(['joinRequest', 'sendRequest', 'pingRequest', 'unroutedRequest']));
  });

  it.each(getters)('%s builds its schema once and returns it on every call', (_name, getter) => {
    const schema = getter();
    expect(typeof schema.safeParse).toBe('function');
    expect(getter()).toBe(schema);
  });
});
