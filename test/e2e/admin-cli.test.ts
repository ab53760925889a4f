/**
 * `ops/admin-cli.ts disconnect` as an operator runs it: a child process with the operator identity's credentials
 * (local IAM holds it to the plan's operator policy on DynamoDB and @connections) against the local stack.
 */
import { describe, expect, it } from 'vitest';
import { runAdmin } from '../support/admin-cli.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';

const { stack, connect } = useStack(() => bootDevStack());

const admin = (args: string[], accessKeyId?: string) => runAdmin(stack, args, accessKeyId);

let untouched: Awaited<ReturnType<typeof connect>> | undefined;
const endpoint = () => `http://127.0.0.1:${stack.port}/${stack.stage}`;

describe('admin disconnect', () => {
  it("closes every connection of the user and no one else's", async () => {
    const targets = [await connect('cut-off'), await connect('cut-off'), await connect('cut-off')];
    const bystander = await connect('stays-on');
    for (const client of [...targets, bystander]) await client.request({ action: 'ping' }, 'pong');

    const run = await admin(['disconnect', '--user', 'cut-off', '--stage', 'dev', '--connections-endpoint', endpoint()]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dev: closed 3 connection(s) of cut-off');
    for (const client of targets) expect((await client.closedWith()).code).toBe(1000);
    expect((await bystander.request({ action: 'ping' }, 'pong')).type).toBe('pong');
  });

  it('fails, closing nothing, when its credentials are not the operator identity', async () => {
    const target = await connect('not-cut-off');
    await target.request({ action: 'ping' }, 'pong');
    const run = await admin(['disconnect', '--user', 'not-cut-off', '--connections-endpoint', endpoint()], 'a-developer');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/UnrecognizedClientException|security token/);
    expect((await target.request({ action: 'ping' }, 'pong')).type).toBe('pong');
  });

  it.each([
    [[], 'no command given'],
    [['kick', '--user', 'x'], 'unknown command "kick"'],
    [['disconnect'], '--user is required'],
    [['disconnect', '--user', 'bad user!'], '--user must match'],
    [['disconnect', '--user', 'u', '--stage', 'staging'], '--stage must be one of: dev, prod'],
    [['disconnect', '--user', 'u', '--connections-endpoint', 'ftp://x'], '--connections-endpoint must be an http(s) URL'],
    [['disconnect', '--user', 'u'], '--connections-endpoint (or WSCHAT_CONNECTIONS_ENDPOINT) is required'],
    [['disconnect', '--user', 'u', '--force'], "Unknown option '--force'"],
    [['disconnect', '--user', 'u', 'extra'], 'unexpected argument "extra"'],
  ])('refuses %j before anything runs: %s', async (args, message) => {
    // User "u" is the one the valid flags would cut off: its connection must survive every refused command.
    untouched ??= await connect('u');
    const target = untouched;
    await target.request({ action: 'ping' }, 'pong');
    const run = await admin(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run admin -- disconnect --user <user>');
    expect(run.stdout).toBe('');
    expect((await target.request({ action: 'ping' }, 'pong')).type).toBe('pong');
  });
});
