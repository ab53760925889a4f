/**
 * The plan's SQS queue on the local stack: the fan-out function's on-failure destination receives Lambda's
 * destination record after the retries (compressed by the time scale), on-call reads, counts and deletes it
 * with the real SQS client, the queue metrics reach CloudWatch's local store, and a role without
 * sqs:SendMessage gets nothing delivered, as on AWS.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { bootDevStack, type BootedStack } from '../support/local-stack.ts';
import { bootEditedStack, resourceOf, type EditedStack } from '../support/plan-copy.ts';

const QUEUE = 'wschat-dev-fanout-dead-letters';
const credentials = { accessKeyId: 'on-call', secretAccessKey: 'x' };
/** Not a valid shard: the fan-out function throws on it every time. */
const BAD_SHARD = { room: 'general', recipients: [] };

function clientsOf(stack: { region: string; sqsEndpoint: string; lambdaEndpoint: string }) {
  return {
    sqs: new SQSClient({ region: stack.region, endpoint: stack.sqsEndpoint, credentials, maxAttempts: 1 }),
    lambda: new LambdaClient({ region: stack.region, endpoint: stack.lambdaEndpoint, credentials, maxAttempts: 1 }),
  };
}

/**
 * Invokes the fan-out function as the send path does, by the qualified name the plan gives it: the event-invoke
 * config (retries, destination) is the alias's, so an unqualified invocation would have none.
 */
async function invokeAsync(lambda: LambdaClient, stack: Pick<BootedStack, 'functionEnvironment'>, payload: unknown): Promise<number | undefined> {
  const functionName = stack.functionEnvironment('wschat-dev-send')[ENV.fanoutFunction];
  const result = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }));
  return result.StatusCode;
}

describe('the fan-out dead-letter queue', () => {
  let stack: BootedStack;
  let sqs: SQSClient;
  let lambda: LambdaClient;
  let queueUrl: string;

  beforeAll(async () => {
    stack = await bootDevStack({ timeScale: 60 });
    ({ sqs, lambda } = clientsOf(stack));
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))).QueueUrl as string;
  });

  afterAll(async () => {
    sqs?.destroy();
    lambda?.destroy();
    await stack?.close();
  });

  it('receives the destination record of a shard that failed three times', async () => {
    expect(await invokeAsync(lambda, stack, BAD_SHARD)).toBe(202);
    const depth = async () =>
      Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }))).Attributes?.ApproximateNumberOfMessages);
    await expect.poll(depth, { timeout: 20_000 }).toBe(1);

    // Its age is reported in alarm time, as retention is: at a time scale of 60 a second of waiting is a minute.
    const age = () => stack.metrics.stat({ namespace: 'AWS/SQS', name: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: QUEUE } }, 'Maximum', 0, Date.now() + 1) ?? 0;
    await expect.poll(age, { timeout: 10_000 }).toBeGreaterThanOrEqual(60);

    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages).toHaveLength(1);
    const record = JSON.parse(Messages[0]!.Body as string);
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3, functionArn: expect.stringMatching(/:function:wschat-dev-fanout:live$/) },
      requestPayload: BAD_SHARD,
      responsePayload: { errorMessage: expect.stringMatching(/^invalid fan-out shard: .*recipients: Too small/) },
    });
    expect(stack.printed.filter((l) => l.startsWith('wschat-dev-fanout') && l.includes('invalid fan-out shard'))).not.toHaveLength(0);

    // Received, it is invisible until deleted (or its visibility timeout ends).
    expect(await depth()).toBe(0);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]!.ReceiptHandle }));
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    expect(attributes.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });

    const sent = stack.metrics.stat({ namespace: 'AWS/SQS', name: 'NumberOfMessagesSent', dimensions: { QueueName: QUEUE } }, 'Sum', 0, Date.now() + 1);
    expect(sent).toBe(1);
    await expect
      .poll(() => stack.metrics.stat({ namespace: 'AWS/SQS', name: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: QUEUE } }, 'SampleCount', 0, Date.now() + 1), { timeout: 5_000 })
      .toBeGreaterThan(0);
  });

  it('answers bad requests as SQS does', async () => {
    const error = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { $metadata?: { httpStatusCode?: number } }) => ({ name: e.name, status: e.$metadata?.httpStatusCode }));
    expect(await error(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })))).toEqual({ name: 'QueueDoesNotExist', status: 400 });
    expect(await error(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 })))).toEqual({ name: 'InvalidParameterValue', status: 400 });
    expect(await error(sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'forged' })))).toEqual({ name: 'ReceiptHandleIsInvalid', status: 400 });
    expect(await error(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(256 * 1024 + 1) })))).toEqual({ name: 'InvalidParameterValue', status: 400 });
  });

  it('keeps a message body byte for byte, with the MD5 the SDK checks', async () => {
    const body = JSON.stringify({ note: 'héllo ✓', n: 1 });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(Messages.map((m) => [m.MessageId, m.Body])).toEqual([[sent.MessageId, body]]);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]!.ReceiptHandle }));
  });
});

describe('a fan-out role without sqs:SendMessage', () => {
  let stack: EditedStack;
  let clients: ReturnType<typeof clientsOf>;

  beforeAll(async () => {
    stack = await bootEditedStack(
      (plan) => {
        const policy = resourceOf(plan, 'aws_iam_role_policy', 'fanout');
        const document = JSON.parse(String(policy.policy)) as { Statement: { Action: string[] }[] };
        const before = document.Statement.length;
        document.Statement = document.Statement.filter((s) => !s.Action.includes('sqs:SendMessage'));
        if (document.Statement.length !== before - 1) throw new Error('the fan-out policy no longer grants sqs:SendMessage');
        policy.policy = JSON.stringify(document);
      },
      { timeScale: 60 },
    );
    clients = clientsOf(stack);
  });

  afterAll(async () => {
    clients?.sqs.destroy();
    clients?.lambda.destroy();
    await stack?.close();
  });

  it('gets no record into the queue, and the local Lambda says why', async () => {
    expect(await invokeAsync(clients.lambda, stack, BAD_SHARD)).toBe(202);
    const denial = () => stack.printed.find((l) => l.includes('could not send to arn:aws:sqs'));
    await expect.poll(denial, { timeout: 20_000 }).toBeDefined();
    expect(denial()).toContain(
      'is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:000000000000:wschat-dev-fanout-dead-letters',
    );
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }));
    const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(Messages).toEqual([]);
    // Lambda counts the lost record, which the lambda-destination-failures alarm watches.
    const failures = stack.metrics.stat({ namespace: 'AWS/Lambda', name: 'DestinationDeliveryFailures', dimensions: { FunctionName: 'wschat-dev-fanout' } }, 'Sum', 0, Date.now() + 1);
    expect(failures).toBe(1);
  });
});
