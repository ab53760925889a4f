/**
 * A test's teardown closes its stack without running `$disconnect` (AWS runs it on a best-effort basis only): a
 * room of hundreds would otherwise fan out presence to every remaining member while the file's hook waits. A
 * client that leaves before the teardown still gets its `$disconnect`, the positive control.
 */
import { expect, it } from 'vitest';
import { functionNameInPlan } from '../../local/plan-names.ts';
import { bootDevStack } from '../support/local-stack.ts';
import { ChatClient } from '../support/ws-client.ts';

it("cuts the connections at a test's teardown without their $disconnect; one closed before it had its own", async () => {
  const stack = await bootDevStack();
  const disconnectFunction = functionNameInPlan(stack.plan, 'disconnect');
  const disconnects = () => stack.metrics.stat({ namespace: 'AWS/Lambda', name: 'Invocations', dimensions: { FunctionName: disconnectFunction } }, 'Sum', 0, Date.now() + 1) ?? 0;
  const leaver = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('leaver')));
  const stayer = await ChatClient.connect(stack.wsUrl(await stack.tokenFor('stayer')));
  await leaver.close();
  await expect.poll(disconnects).toBe(1);
  await stack.close();
  // Cut, not closed: no close frame reached the client.
  expect((await stayer.closedWith()).code).toBe(1006);
  expect(disconnects()).toBe(1);
});
