/**
 * Runs `ops/admin-cli.ts` (and the other ops scripts) as an operator does: a child process with an identity's credentials (local IAM holds the
 * operator identity to the plan's operator policy) against a local stack's DynamoDB and S3.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { REPO_ROOT } from '../../local/paths.ts';
import type { LocalStack } from '../../local/stack.ts';

const tsx = createRequire(import.meta.url).resolve('tsx/cli');

export interface OperatorRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs an ops script (`ops/…ts`) with the operator identity's credentials and the given endpoint environment. */
export function runAsOperator(script: string, args: readonly string[], env: Record<string, string>, accessKeyId = OPERATOR_ACCESS_KEY_ID): Promise<OperatorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, script, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function runAdmin(
  stack: Pick<LocalStack, 'region' | 'functionsDynamoEndpoint' | 's3Endpoint'>,
  args: string[],
  accessKeyId = OPERATOR_ACCESS_KEY_ID,
): Promise<OperatorRun> {
  return runAsOperator(
    'ops/admin-cli.ts',
    args,
    {
      AWS_REGION: stack.region,
      AWS_ENDPOINT_URL_DYNAMODB: stack.functionsDynamoEndpoint,
      AWS_ENDPOINT_URL_S3: stack.s3Endpoint,
      // Endpoints and bucket come from the flags each test passes, not from the developer's shell.
      WSCHAT_CONNECTIONS_ENDPOINT: '',
      WSCHAT_ATTACHMENTS_BUCKET: '',
    },
    accessKeyId,
  );
}
