/**
 * Redrives the fan-out dead-letter queue: each record Lambda sent there (an asynchronous invocation that failed
 * for good) is invoked again, asynchronously, with its original shard, then deleted. Clients drop messages
 * they already have by seq, so a shard delivered twice shows nothing twice. Used by on-call (npm run redrive)
 * and by the local drill of the fanout-dead-letters alarm.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly lambda: LambdaClient;
  readonly queueUrl: string;
  /** The function the records name is invoked again; this guards against redriving into the wrong one. */
  readonly functionName: string;
  /** Stop after this many records (default: until the queue answers empty). */
  readonly max?: number;
  /** Only count what would be redriven; nothing is invoked or deleted. */
  readonly dryRun?: boolean;
}

export interface RedriveResult {
  readonly redriven: number;
  /** Records that are not destination records of the fan-out function: left in the queue, with why. */
  readonly skipped: { readonly messageId: string; readonly reason: string }[];
}

interface DestinationRecord {
  readonly requestContext?: { readonly functionArn?: string; readonly condition?: string };
  readonly requestPayload?: unknown;
}

export async function redriveFanoutDeadLetters(options: RedriveOptions): Promise<RedriveResult> {
  const { sqs, lambda, queueUrl, functionName } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  let redriven = 0;
  const skipped: RedriveResult['skipped'] = [];
  const seen = new Set<string>();
  while (redriven + skipped.length < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }),
    );
    const fresh = Messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      if (redriven + skipped.length >= max) break;
      const messageId = message.MessageId as string;
      seen.add(messageId);
      const reason = whyNotRedrivable(message.Body, functionName);
      if (reason) {
        skipped.push({ messageId, reason });
        continue;
      }
      if (!options.dryRun) {
        const record = JSON.parse(message.Body as string) as DestinationRecord;
        await lambda.send(
          new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(record.requestPayload)) }),
        );
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
      redriven++;
    }
  }
  return { redriven, skipped };
}

function whyNotRedrivable(body: string | undefined, functionName: string): string | undefined {
  let record: DestinationRecord;
  try {
    record = JSON.parse(body ?? '') as DestinationRecord;
  } catch {
    return 'the body is not JSON';
  }
  const arn = record.requestContext?.functionArn ?? '';
  if (!new RegExp(`:function:${functionName}(:|$)`).test(arn)) return `it is not a record of ${functionName} (function ${arn || 'missing'})`;
  if (record.requestPayload === undefined) return 'it has no requestPayload';
  return undefined;
}
