/**
 * A connection flood of one user: the stage's connections per user (dev: 10, read from the plan) are opened, the
 * next handshake is refused with 429 and leaves nothing behind, other users still connect, and a closed
 * connection frees its slot for the next handshake.
 */
import { expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { TOO_MANY_CONNECTIONS_STATUS } from '../../functions/domain/connection-quota.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { itemCounts } from '../support/tables.ts';
import { handshakeStatus } from '../support/ws-client.ts';

const { stack, connect } = useStack(() => bootDevStack());

it('refuses the handshake after the per-user limit with 429, and admits one again when a connection closes', async () => {
  const limit = Number(stack.functionEnvironment('wschat-dev-connect')[ENV.connectionsPerUser]);
  expect(limit).toBe(10);
  const held = [];
  for (let i = 0; i < limit; i++) held.push(await connect('flooder'));
  for (const client of held) await client.request({ action: 'ping' }, 'pong');

  const before = await itemCounts(stack);
  // One after another: twenty handshakes at once would measure this machine's cold starts, not the limit.
  const refused: number[] = [];
  for (let i = 0; i < 5; i++) refused.push(await handshakeStatus(stack.wsUrl(await stack.tokenFor('flooder'))));
  expect(refused).toEqual(Array.from({ length: 5 }, () => TOO_MANY_CONNECTIONS_STATUS));
  expect(await itemCounts(stack)).toEqual(before);
  // Another user is not affected.
  expect(await handshakeStatus(stack.wsUrl(await stack.tokenFor('bystander')))).toBe(101);

  await held[0]!.close();
  // The slot is freed by $disconnect, which runs after the close: poll the handshake until it is admitted.
  await expect.poll(async () => handshakeStatus(stack.wsUrl(await stack.tokenFor('flooder'))), { timeout: 15_000 }).toBe(101);
});
