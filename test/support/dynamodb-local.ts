/**
 * The official DynamoDB Local (the jar shipped in `amplify-dynamodb-simulator`), started directly with Java on a
 * free loopback port, in memory. It is AWS's own emulator, so suites run on it catch what dynalite gets wrong.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '../../local/stack.ts';

export interface DynamoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** A free port can be taken by another process before Java binds it; a new port is tried this often. */
const BIND_ATTEMPTS = 3;

/** The emulator directory (DynamoDBLocal.jar and DynamoDBLocal_lib/); throws naming what is missing. */
export function dynamoDbLocalDir(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('amplify-dynamodb-simulator/package.json');
  } catch {
    throw new Error('DynamoDB Local is missing: the devDependency amplify-dynamodb-simulator is not installed (run npm ci)');
  }
  const dir = path.join(path.dirname(packageJson), 'emulator');
  for (const needed of ['DynamoDBLocal.jar', 'DynamoDBLocal_lib']) {
    if (!existsSync(path.join(dir, needed))) {
      throw new Error(`DynamoDB Local is missing: ${path.join(dir, needed)} does not exist (reinstall amplify-dynamodb-simulator)`);
    }
  }
  return dir;
}

/** Throws unless `java -version` runs: DynamoDB Local needs a Java 17 runtime on PATH. */
function requireJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : `exit code ${probe.status}`;
    throw new Error(`DynamoDB Local needs Java 17 on PATH and \`java -version\` failed (${why}); install openjdk-17-jre-headless`);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, so there is nothing to stop.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited(child);
  clearTimeout(timer);
}

/** Resolves once ListTables answers; rejects if the process exits first or the start times out. */
async function answering(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' },
    maxAttempts: 1,
  });
  let ended: string | undefined;
  child.once('exit', (code, signal) => (ended ??= `exited (code ${code}, signal ${signal})`));
  child.once('error', (error) => (ended ??= `could not be run (${error.message})`));
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (ended) throw new Error(`DynamoDB Local ${ended} before answering:\n${output()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        // Not listening yet: the JVM takes a few seconds to start.
      }
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.destroy();
  }
}

/**
 * Starts DynamoDB Local in memory. `-sharedDb` makes it one database for every access key and region, as one
 * AWS account is (without it each caller's key gets its own tables, and the local stack's functions each sign
 * with their own key); `-disableTelemetry` keeps test runs from reporting to AWS.
 */
export async function startDynamoDbLocal(): Promise<DynamoServer> {
  const dir = dynamoDbLocalDir();
  requireJava();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'java',
      [
        // A short-lived test server: the quick JIT tier and the serial collector start it several times faster
        // on a small, busy machine.
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
        '-jar',
        'DynamoDBLocal.jar',
        '-inMemory',
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // A test process that dies without its teardown must not leave a JVM behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const chunks: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const output = () => chunks.join('');
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await answering(endpoint, child, output);
    } catch (error) {
      await stopProcess(child);
      process.off('exit', killOnExit);
      if (attempt < BIND_ATTEMPTS && /Address already in use|BindException/.test(output())) continue;
      throw error;
    }
    return {
      endpoint,
      async stop() {
        await stopProcess(child);
        process.off('exit', killOnExit);
      },
    };
  }
}
