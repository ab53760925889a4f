/**
 * Boots the real local stack (a synthesized plan) for a test file, on free ports and a private state dir, and
 * gives the file its users: `useStack` boots before the file's tests and closes every client and the stack after.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { stackDir } from './plan.ts';
import { ChatClient } from './ws-client.ts';

export interface BootedStack extends LocalStack {
  /** Everything functions and the gateway logged, for failure messages. */
  readonly printed: string[];
  /** Extracted bundles and the development identity provider's key. */
  readonly stateDir: string;
  tokenFor(user: string, options?: { ttlSeconds?: number }): Promise<string>;
  wsUrl(token?: string): string;
}

export type StackOptions = Partial<Omit<LocalStackOptions, 'stackDir' | 'port' | 'stateDir' | 'log'>>;

/** Boots the plan in `planDir`; closing the stack also removes its private state dir. */
export async function bootStack(planDir: string, options: StackOptions = {}): Promise<BootedStack> {
  const printed: string[] = [];
  const stateDir = mkdtempSync(path.join(tmpdir(), 'wschat-test-'));
  const stack = await startLocalStack({
    stackDir: planDir,
    port: 0,
    stateDir,
    log: (source, line) => printed.push(`${source} ${line}`),
    ...options,
  });
  const closeStack = stack.close.bind(stack);
  return Object.assign(stack, {
    printed,
    stateDir,
    // A test's teardown owes no $disconnect to anyone (AWS promises them on a best-effort basis only): a room of
    // hundreds would otherwise fan out presence to every remaining member while the file waits.
    async close() {
      await closeStack({ runDisconnects: false });
      rmSync(stateDir, { recursive: true, force: true });
    },
    tokenFor: (user: string, opts?: { ttlSeconds?: number }) => stack.idp.mint(user, opts),
    wsUrl: (token?: string) => (token === undefined ? stack.url : `${stack.url}?token=${encodeURIComponent(token)}`),
  });
}

/** The synthesized dev plan, as `npm start` runs it. */
export function bootDevStack(options: StackOptions = {}): Promise<BootedStack> {
  return bootStack(stackDir('wschat-dev'), options);
}

export interface StackSession<S extends BootedStack> {
  /** The file's stack: usable in tests and hooks once the file's beforeAll has booted it. */
  readonly stack: S;
  /** A connected client for `user`, closed after the file. */
  connect(user: string): Promise<ChatClient>;
  /** A connected client for `user` that has joined `room`. */
  joined(user: string, room: string): Promise<ChatClient>;
}

/** Boots a stack before the calling file's tests and closes its clients and the stack after them. */
export function useStack<S extends BootedStack>(boot: () => Promise<S>): StackSession<S> {
  let booted: S | undefined;
  const clients: ChatClient[] = [];
  beforeAll(async () => {
    booted = await boot();
  });
  afterAll(async () => {
    // The stack first: it cuts the clients' sockets without running their $disconnect.
    await booted?.close();
    await Promise.all(clients.map((client) => client.close()));
  });
  const current = (): S => {
    if (!booted) throw new Error('the stack is booted in beforeAll: use it inside tests and hooks');
    return booted;
  };
  // Forwards to the booted stack, so a file can destructure `stack` at its top and use it in its tests.
  const stack = new Proxy({} as S, { get: (_, key) => Reflect.get(current(), key) });
  const connect = async (user: string) => {
    const client = await ChatClient.connect(current().wsUrl(await current().tokenFor(user)));
    clients.push(client);
    return client;
  };
  const joined = async (user: string, room: string) => {
    const client = await connect(user);
    await client.request({ action: 'join', room }, 'joined');
    return client;
  };
  return { stack, connect, joined };
}

/** The real Lambda client on a stack's Invoke API, one attempt per call so a test sees each refusal itself. */
export function localLambdaClient(stack: Pick<LocalStack, 'lambdaEndpoint' | 'region'>): LambdaClient {
  return new LambdaClient({
    endpoint: stack.lambdaEndpoint,
    region: stack.region,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}
