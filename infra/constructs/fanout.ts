import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js';
import type { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { ALARMS } from '../../dashboards/alarms.ts';
import { resourceName, type StageConfig } from '../config/stages.ts';

/**
 * Lambda retries a failed event twice; a shard still undelivered after 15 minutes is dropped to the dead-letter
 * queue rather than pushed late (clients have resumed from history by then).
 */
export const FANOUT_ASYNC_INVOKE = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 900 } as const;
/** A ticket raised on a Friday evening is worked on Monday morning: the longest wait for a ticket's on-call. */
export const TICKET_RESPONSE_SECONDS = 72 * 60 * 60;
/** A day to find the cause, fix it and redrive (and redrive again when the first one fails). */
export const REDRIVE_MARGIN_SECONDS = 24 * 60 * 60;

/**
 * A dead-lettered shard holds message texts and is worth redriving only while its readers have not resumed from
 * history (hours), so the queue keeps it as long as a redrive can happen and no longer: the stage's
 * `fanout-dead-letter-age` budget (when the ticket is raised), on-call's response to a ticket, and a margin.
 */
export function deadLetterRetentionSeconds(stage: StageConfig): number {
  const ageAlarm = ALARMS.find((alarm) => alarm.id === 'fanout-dead-letter-age');
  if (ageAlarm?.rule.kind !== 'threshold' || typeof ageAlarm.rule.threshold !== 'number') {
    throw new Error('the alarm catalog has no fanout-dead-letter-age threshold in seconds to size the dead-letter queue by');
  }
  const budget = stage.observability.alarmThresholds?.[ageAlarm.id] ?? ageAlarm.rule.threshold;
  return budget + TICKET_RESPONSE_SECONDS + REDRIVE_MARGIN_SECONDS;
}

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
      messageRetentionSeconds: deadLetterRetentionSeconds(props.stage),
      ...(props.kmsKeyArn ? { kmsMasterKeyId: props.kmsKeyArn } : { sqsManagedSseEnabled: true }),
    });
  }

  /** Retries, event age and the on-failure destination of asynchronous invocations of the fan-out function's alias. */
  configureInvocations(fanout: LambdaAlias): void {
    new LambdaFunctionEventInvokeConfig(this, 'invoke-config', {
      functionName: fanout.functionName,
      // Lambda applies an event invoke config to invocations of the qualifier it names only; callers use the alias.
      qualifier: fanout.name,
      maximumRetryAttempts: FANOUT_ASYNC_INVOKE.maximumRetryAttempts,
      maximumEventAgeInSeconds: FANOUT_ASYNC_INVOKE.maximumEventAgeSeconds,
      destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
    });
    // What `npm run redrive` needs (docs/operations.md).
    new TerraformOutput(this, 'fanout_dead_letter_queue_url', { value: this.deadLetterQueue.url }).overrideLogicalId('fanout_dead_letter_queue_url');
    new TerraformOutput(this, 'fanout_function_name', { value: `${fanout.functionName}:${fanout.name}` }).overrideLogicalId('fanout_function_name');
  }
}
