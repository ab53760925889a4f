import { describe, expect, it } from 'vitest';
import { ACTIONS, FUNCTION_NAMES, FUNCTIONS, ROUTES, type FunctionName, type TableGrant } from '../../functions/catalog/functions.ts';
import { TABLES } from '../../functions/catalog/tables.ts';

describe('function catalog', () => {
  it('routes who and typing to their own functions', () => {
    expect(ROUTES).toContainEqual({ routeKey: 'who', function: 'who' });
    expect(ROUTES).toContainEqual({ routeKey: 'typing', function: 'typing' });
    expect(ACTIONS).toEqual(['join', 'leave', 'send', 'history', 'who', 'typing', 'ping', 'invite', 'remove', 'upload', 'download']);
  });

  it.each(FUNCTION_NAMES)('%s has one grant per table, without repeated actions', (name) => {
    const tables = FUNCTIONS[name].tables.map((g) => g.table);
    expect(new Set(tables).size).toBe(tables.length);
    for (const grant of FUNCTIONS[name].tables) expect(new Set(grant.actions).size).toBe(grant.actions.length);
  });

  it('grants every function that broadcasts what pruning a gone connection needs', () => {
    for (const name of ['disconnect', 'join', 'leave', 'send', 'typing'] as const) {
      const spec = FUNCTIONS[name];
      const grant = (table: string) => spec.tables.find((g) => g.table === table);
      expect(spec.manageConnections, name).toBe(true);
      expect(grant('connections')?.actions, name).toContain('DeleteItem');
      expect(grant('memberships')?.actions, name).toEqual(expect.arrayContaining(['DeleteItem', 'Query']));
      expect(grant('memberships')?.indexes, name).toEqual(['byConnection']);
      // Join and typing also read the room's count of users present, kept on the presence table.
      expect(grant('presence')?.actions, name).toEqual(name === 'join' || name === 'typing' ? ['UpdateItem', 'GetItem'] : ['UpdateItem']);
    }
  });

  it('gives the read-only and heartbeat routes no more than they use', () => {
    // The connection item's UpdateItem/GetItem keep the route's token bucket (GetItem only on a refusal).
    expect(FUNCTIONS.who.tables).toEqual([
      { table: 'connections', actions: ['UpdateItem', 'GetItem'] },
      { table: 'memberships', actions: ['GetItem', 'Query'] },
    ]);
    expect(FUNCTIONS.ping.tables).toEqual([{ table: 'connections', actions: ['UpdateItem', 'GetItem'] }]);
    expect(FUNCTIONS.typing.tables.find((g) => g.table === 'messages')).toBeUndefined();
  });

  it('gives every route but send and the $ routes a token bucket per connection', () => {
    const limited = FUNCTION_NAMES.filter((name) => (FUNCTIONS[name] as { routeRateLimited?: true }).routeRateLimited);
    expect(limited.sort()).toEqual(['download', 'history', 'invite', 'join', 'leave', 'ping', 'remove', 'typing', 'upload', 'who']);
  });

  it('gives invite and remove only the grants their rules need, and no route but join creates a room', () => {
    expect(ROUTES).toContainEqual({ routeKey: 'invite', function: 'invite' });
    expect(ROUTES).toContainEqual({ routeKey: 'remove', function: 'remove' });
    const grantOf = (name: FunctionName, table: string): readonly string[] | undefined =>
      (FUNCTIONS[name].tables as readonly TableGrant[]).find((g) => g.table === table)?.actions;
    expect(grantOf('invite', 'roles')).toEqual(['GetItem', 'PutItem']);
    expect(grantOf('invite', 'rooms')).toEqual(['GetItem']);
    expect(grantOf('invite', 'memberships')).toBeUndefined();
    expect(grantOf('remove', 'roles')).toEqual(['GetItem', 'DeleteItem']);
    expect(grantOf('remove', 'rooms')).toEqual(['GetItem']);
    expect(grantOf('join', 'roles')).toEqual(['GetItem']);
    const roomWriters = FUNCTION_NAMES.filter((name) => grantOf(name, 'rooms')?.includes('UpdateItem'));
    // send raises the seq counter on the same item; only join writes a room's settings.
    expect(roomWriters.sort()).toEqual(['join', 'send']);
    const grantWriters = FUNCTION_NAMES.filter((name) => grantOf(name, 'roles')?.some((a) => a !== 'GetItem'));
    expect(grantWriters.sort()).toEqual(['invite', 'remove']);
  });

  it('keeps each private room grant per (room, user), with no TTL', () => {
    expect(TABLES.roles.hashKey).toEqual({ name: 'room', type: 'S' });
    expect(TABLES.roles.rangeKey).toEqual({ name: 'userId', type: 'S' });
    expect('ttlAttribute' in TABLES.roles).toBe(false);
  });

  it('keeps presence per (room, user) with a TTL', () => {
    expect(TABLES.presence.hashKey).toEqual({ name: 'room', type: 'S' });
    expect(TABLES.presence.rangeKey).toEqual({ name: 'userId', type: 'S' });
    expect(TABLES.presence.ttlAttribute).toBe('expiresAt');
  });
});
