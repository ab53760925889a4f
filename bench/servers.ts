/**
 * Benchmark servers run in child processes, so their CPU and memory are not the clients'. They announce
 * themselves and answer over IPC with messages that each carry a `kind`.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface ServerProcess<M extends { readonly kind: string }> {
  readonly child: ChildProcess;
  /** The next message of this kind; rejects if the process exits first. */
  next<K extends M['kind']>(kind: K): Promise<Extract<M, { kind: K }>>;
  /** Sends a request and waits for the answer of this kind. */
  ask<K extends M['kind']>(request: string, kind: K): Promise<Extract<M, { kind: K }>>;
  /** Disconnects IPC (the server exits on it) and waits for the process to end. */
  stop(): Promise<void>;
}

/** Forks a TypeScript server script; its stdout is dropped, its stderr shown. */
export function forkServer<M extends { readonly kind: string }>(
  script: string,
  args: readonly string[],
  nodeOptions: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): ServerProcess<M> {
  const child = fork(script, args, {
    execArgv: [...nodeOptions, '--import', 'tsx'],
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <K extends M['kind']>(kind: K) =>
    new Promise<Extract<M, { kind: K }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code}`));
      const onMessage = (message: M) => {
        if (message.kind !== kind) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<M, { kind: K }>);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    child,
    next,
    ask(request, kind) {
      const answer = next(kind);
      child.send(request);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
