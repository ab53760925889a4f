/**
 * What the Lambda service adds to every function's environment, beside the plan's variables: the local stack's
 * workers and the cold-start benchmark's fresh processes get the same set, so they initialize the same way.
 */
import { functionAccessKeyId } from '../iam.ts';

/** The secret every function's credentials carry; the local services that verify signatures (S3) check against it. */
export const LOCAL_SECRET_ACCESS_KEY = 'local-secret';

export interface ServiceEnvironmentInput {
  readonly functionName: string;
  /** The plan's runtime, e.g. nodejs22.x. */
  readonly runtime: string;
  readonly region: string;
  readonly memoryMb: number;
  readonly logGroupName: string;
  readonly codeDir: string;
  readonly handler: string;
  /** Where this machine's services answer for the AWS APIs the function calls, and the X-Ray daemon (host:port). */
  readonly endpoints: {
    readonly dynamodb: string;
    readonly lambda: string;
    readonly sqs: string;
    readonly s3: string;
    readonly secretsManager: string;
    readonly xrayDaemon: string;
  };
}

export function lambdaServiceEnvironment(input: ServiceEnvironmentInput): Record<string, string> {
  return {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    AWS_LAMBDA_FUNCTION_NAME: input.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(input.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: input.logGroupName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: input.codeDir,
    _HANDLER: input.handler,
    TZ: ':UTC',
    // Distinct per function: the local services identify the caller (and check its role's policies) by it.
    AWS_ACCESS_KEY_ID: functionAccessKeyId(input.functionName),
    AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: 'local-session',
    AWS_ENDPOINT_URL_DYNAMODB: input.endpoints.dynamodb,
    AWS_ENDPOINT_URL_LAMBDA: input.endpoints.lambda,
    AWS_ENDPOINT_URL_SQS: input.endpoints.sqs,
    AWS_ENDPOINT_URL_S3: input.endpoints.s3,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: input.endpoints.secretsManager,
    // Lambda's execution environment: it turns the Powertools tracer on and points it at the daemon.
    AWS_EXECUTION_ENV: `AWS_Lambda_${input.runtime}`,
    AWS_XRAY_DAEMON_ADDRESS: input.endpoints.xrayDaemon,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  };
}
