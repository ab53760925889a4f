import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';

/**
 * Lambda retries a failed event twice; a shard still undelivered after 15 minutes is dropped to the dead-letter
 * queue rather than pushed late (clients have resumed from history by then).
 */
export const FANOUT_ASYNC_INVOKE = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 900 } as const;
/** SQS's longest retention: on-call has two weeks to read and redrive a failed shard. */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

export interface AsyncFanoutProps {
  readonly stage: StageConfig;
  readonly kmsKeyArn?: string;
}

/**
 * The asynchronous fan-out of large rooms: the dead-letter queue (the fan-out function's on-failure destination,
 * alarmed in dashboards/alarms.ts) and, once the function exists, its asynchronous invocation settings.
 */
export class AsyncFanout extends Construct {
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, private readonly props: AsyncFanoutProps) {
    super(scope, id);
    this.deadLetterQueue = new SqsQueue(this, 'dead-letters', {
      name: resourceName(props.stage, 'fanout-dead-letters'),
      messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
      ...(props.kmsKeyArn ? { kmsMasterKeyId: props.kmsKeyArn } : { sqsManagedSseEnabled: true }),
    });
  }

  /** Retries, event age and the on-failure destination of the fan-out function's asynchronous invocations. */
  configureInvocations(fanout: LambdaFunction): void {
    new LambdaFunctionEventInvokeConfig(this, 'invoke-config', {
      functionName: fanout.functionName,
      maximumRetryAttempts: FANOUT_ASYNC_INVOKE.maximumRetryAttempts,
      maximumEventAgeInSeconds: FANOUT_ASYNC_INVOKE.maximumEventAgeSeconds,
      destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
    });
    // What `npm run redrive` needs (docs/operations.md).
    new TerraformOutput(this, 'fanout_dead_letter_queue_url', { value: this.deadLetterQueue.url }).overrideLogicalId('fanout_dead_letter_queue_url');
    new TerraformOutput(this, 'fanout_function_name', { value: fanout.functionName }).overrideLogicalId('fanout_function_name');
  }
}
