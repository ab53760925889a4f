/**
 * One storm of `npm run bench -- storm`, in a process of its own: the clients' process. It starts the stack in
 * another process (bench/storm-stack.ts, through bench/storm-remote.ts) and runs bench/storm-harness.ts's clients
 * here against it, minting their tokens here, so none of the clients' CPU lands on the stack's main thread
 * (gateway, DynamoDB, identity provider), as none would in a deployment. It answers bench/storm.ts with the report
 * over IPC, then disconnects from the stack, which exits without closing it (closing would run $disconnect for
 * every client, which is not what the benchmark measures).
 */
import { runStorm, type StormReport } from './storm-harness.ts';
import { startStormStack, type StormStackReady } from './storm-remote.ts';

export type StormRunMessage = { readonly kind: 'report'; readonly report: StormReport } & Pick<StormStackReady, 'throttles' | 'provisioned'>;

const [stackDir, clients, timeoutMs] = process.argv.slice(2);
if (!stackDir || !(Number(clients) > 0) || !(Number(timeoutMs) > 0)) throw new Error('usage: storm-run.ts <stackDir> <clients> <timeoutMs>');

const remote = await startStormStack(stackDir);
try {
  const report = await runStorm(remote.stack, {
    clients: Number(clients),
    timeoutMs: Number(timeoutMs),
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  const { throttles, provisioned } = remote.ready;
  const message: StormRunMessage = { kind: 'report', report, throttles, provisioned };
  await new Promise<void>((resolve, reject) => process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())));
} finally {
  await remote.stop();
}
process.exit(0);
