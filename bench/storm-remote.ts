/**
 * The storm's stack in another process (bench/storm-stack.ts), seen from the clients' process as a `StormStack`:
 * cold starts and the drop are IPC requests; tokens are minted here, with the stack's development signing key
 * (local/idp.ts reads it from the stack's state dir, as the CLI does), not asked for one by one.
 */
import path from 'node:path';
import { loadDevIdp } from '../local/idp.ts';
import { REPO_ROOT } from '../local/paths.ts';
import { forkServer } from './servers.ts';
import type { StormStack } from './storm-harness.ts';
import type { StormStackMessage } from './storm-stack.ts';

export type StormStackReady = Extract<StormStackMessage, { kind: 'ready' }>;

export interface RemoteStormStack {
  readonly stack: StormStack;
  readonly ready: StormStackReady;
  readonly pid: number;
  /** Disconnects; the stack process removes its state dir and exits without closing the stack. */
  stop(): Promise<void>;
}

/** Forks the stack on the plan in `stackDir` and waits for it to boot. */
export async function startStormStack(stackDir: string): Promise<RemoteStormStack> {
  const server = forkServer<StormStackMessage>(path.join(REPO_ROOT, 'bench', 'storm-stack.ts'), [stackDir]);
  try {
    const ready = await server.next('ready');
    const idp = await loadDevIdp(ready.stateDir);
    return {
      ready,
      pid: server.child.pid as number,
      stop: () => server.stop(),
      stack: {
        url: ready.url,
        limits: ready.limits,
        mint: (user) => idp.mint(user),
        coldStarts: async () => (await server.ask('cold-starts', 'cold-starts')).coldStarts,
        dropAllConnections: async () => (await server.ask('drop', 'dropped')).count,
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
