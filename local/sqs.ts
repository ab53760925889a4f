/**
 * The plan's SQS queues on a local port, for what the stack uses them for: Lambda's on-failure destination (the
 * fan-out dead-letter queue) and on-call's reading, redriving and purging of it. It speaks SQS's JSON protocol
 * (what @aws-sdk/client-sqs uses) for SendMessage, ReceiveMessage, DeleteMessage, GetQueueUrl,
 * GetQueueAttributes and PurgeQueue, and reports the queue metrics CloudWatch gets from SQS. Not emulated: FIFO
 * queues, batches, message attributes, long polling (WaitTimeSeconds answers at once), redrive policies.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { accessKeyIdOf } from './iam.ts';
import { closeNow, listenOnLoopback } from './loopback-server.ts';
import { LOCAL_ACCOUNT_ID, type StackPlan } from './plan.ts';

/** SQS's defaults where the plan sets nothing: 4 days of retention, 30 s of visibility after a receive. */
const DEFAULT_RETENTION_SECONDS = 345_600;
const DEFAULT_VISIBILITY_SECONDS = 30;
const MAX_RECEIVE = 10;
/** SQS's message size limit. */
const MAX_MESSAGE_BYTES = 256 * 1024;

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
}

export interface LocalQueue {
  readonly name: string;
  readonly arn: string;
  readonly retentionMs: number;
  readonly messages: StoredMessage[];
}

export interface QueueOptions {
  /** Undefined when allowed; otherwise AWS's AccessDenied message. */
  readonly authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
  /** Divides retention and visibility timeouts, like the gateway's connection limits. */
  readonly timeScale: number;
  readonly metric: (queueName: string, name: string, value: number) => void;
}

class SqsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export function queueArn(region: string, name: string): string {
  return `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${name}`;
}

export class LocalQueues {
  private readonly byName = new Map<string, LocalQueue>();
  private readonly server: Server;
  private metricsTimer?: NodeJS.Timeout;

  constructor(
    plan: StackPlan,
    private readonly options: QueueOptions,
  ) {
    for (const resource of plan.resources('aws_sqs_queue')) {
      const config = plan.resolve(resource.config);
      if (config.fifo_queue === true) throw new Error(`${resource.address}: FIFO queues are not emulated locally`);
      const name = String(config.name);
      const retentionSeconds = Number(config.message_retention_seconds ?? DEFAULT_RETENTION_SECONDS);
      this.byName.set(name, { name, arn: queueArn(plan.region, name), retentionMs: retentionSeconds * 1000, messages: [] });
    }
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  byArn(arn: string): LocalQueue | undefined {
    return [...this.byName.values()].find((q) => q.arn === arn);
  }

  /** What a producer inside the local stack (Lambda's destination delivery) sends. */
  send(queue: LocalQueue, body: string): string {
    const id = randomUUID();
    queue.messages.push({ id, body, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.options.metric(queue.name, 'NumberOfMessagesSent', 1);
    return id;
  }

  /** Messages that may be received now (ApproximateNumberOfMessagesVisible). */
  visible(queue: LocalQueue, now = Date.now()): number {
    this.expire(queue, now);
    return queue.messages.filter((m) => m.visibleAt <= now).length;
  }

  async listen(): Promise<string> {
    const endpoint = await listenOnLoopback(this.server);
    // SQS reports queue depth to CloudWatch once a minute.
    this.metricsTimer = setInterval(() => this.reportDepth(), 60_000 / this.options.timeScale);
    this.metricsTimer.unref();
    return endpoint;
  }

  async close(): Promise<void> {
    clearInterval(this.metricsTimer);
    await closeNow(this.server);
  }

  private reportDepth(now = Date.now()): void {
    for (const queue of this.byName.values()) {
      const visible = this.visible(queue, now);
      this.options.metric(queue.name, 'ApproximateNumberOfMessagesVisible', visible);
      this.options.metric(queue.name, 'ApproximateNumberOfMessagesNotVisible', queue.messages.length - visible);
      const oldest = queue.messages[0];
      // In alarm time, as retention is: at a time scale of 60 a message a second old is a minute old.
      this.options.metric(queue.name, 'ApproximateAgeOfOldestMessage', oldest ? Math.floor(((now - oldest.sentAt) * this.options.timeScale) / 1000) : 0);
    }
  }

  private expire(queue: LocalQueue, now: number): void {
    const cutoff = now - queue.retentionMs / this.options.timeScale;
    while (queue.messages[0] && queue.messages[0].sentAt < cutoff) queue.messages.shift();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      if (req.method !== 'POST' || !operation) {
        throw new SqsError(400, 'InvalidAction', 'the local SQS speaks the JSON protocol only (POST with X-Amz-Target: AmazonSQS.<Action>)');
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new SqsError(400, 'InvalidParameterValue', 'the request body is not JSON');
      }
      const output = this.operate(operation, input, accessKeyIdOf(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(output));
    } catch (error) {
      const e = error instanceof SqsError ? error : new SqsError(500, 'InternalError', (error as Error).message);
      res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${e.type};Sender` });
      res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${e.type}`, message: e.message }));
    }
  }

  private operate(operation: string, input: Record<string, unknown>, accessKeyId: string | undefined): unknown {
    if (operation === 'GetQueueUrl') {
      const queue = this.byName.get(String(input.QueueName));
      if (!queue) throw new SqsError(400, 'QueueDoesNotExist', `The specified queue ${String(input.QueueName)} does not exist.`);
      this.authorize(accessKeyId, operation, queue);
      return { QueueUrl: this.urlOf(queue) };
    }
    const queue = this.fromUrl(input.QueueUrl);
    this.authorize(accessKeyId, operation, queue);
    const now = Date.now();
    this.expire(queue, now);
    switch (operation) {
      case 'SendMessage': {
        const body = typeof input.MessageBody === 'string' ? input.MessageBody : '';
        if (!body) throw new SqsError(400, 'MissingParameter', 'The request must contain the parameter MessageBody.');
        if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) throw new SqsError(400, 'InvalidParameterValue', `MessageBody must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
        return { MessageId: this.send(queue, body), MD5OfMessageBody: md5(body) };
      }
      case 'ReceiveMessage': {
        const max = Number(input.MaxNumberOfMessages ?? 1);
        if (!Number.isInteger(max) || max < 1 || max > MAX_RECEIVE) {
          throw new SqsError(400, 'InvalidParameterValue', `MaxNumberOfMessages must be from 1 to ${MAX_RECEIVE}.`);
        }
        const visibilityMs = (Number(input.VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS) * 1000) / this.options.timeScale;
        const received = queue.messages.filter((m) => m.visibleAt <= now).slice(0, max);
        for (const m of received) {
          m.receiveCount++;
          m.visibleAt = now + visibilityMs;
          m.receiptHandle = randomUUID();
        }
        return {
          Messages: received.map((m) => ({
            MessageId: m.id,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: md5(m.body),
            Body: m.body,
            Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
          })),
        };
      }
      case 'DeleteMessage': {
        const index = queue.messages.findIndex((m) => m.receiptHandle !== undefined && m.receiptHandle === input.ReceiptHandle);
        if (index < 0) throw new SqsError(400, 'ReceiptHandleIsInvalid', `The receipt handle "${String(input.ReceiptHandle)}" is not valid.`);
        queue.messages.splice(index, 1);
        return {};
      }
      case 'GetQueueAttributes': {
        const visible = this.visible(queue, now);
        return {
          Attributes: {
            QueueArn: queue.arn,
            ApproximateNumberOfMessages: String(visible),
            ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
            MessageRetentionPeriod: String(queue.retentionMs / 1000),
          },
        };
      }
      case 'PurgeQueue':
        queue.messages.length = 0;
        return {};
      default:
        throw new SqsError(400, 'InvalidAction', `${operation} is not served by the local SQS (see local/sqs.ts)`);
    }
  }

  private authorize(accessKeyId: string | undefined, operation: string, queue: LocalQueue): void {
    const denied = this.options.authorize?.(accessKeyId, `sqs:${operation}`, queue.arn);
    if (denied) throw new SqsError(403, 'AccessDenied', denied);
  }

  /** The queue URL as AWS shapes it; the local endpoint accepts it (and any URL ending in account/name). */
  private urlOf(queue: LocalQueue): string {
    const region = queue.arn.split(':')[3];
    return `https://sqs.${region}.amazonaws.com/${LOCAL_ACCOUNT_ID}/${queue.name}`;
  }

  private fromUrl(url: unknown): LocalQueue {
    const name = typeof url === 'string' ? url.split('/').pop() : undefined;
    const queue = name ? this.byName.get(name) : undefined;
    if (!queue) throw new SqsError(400, 'QueueDoesNotExist', `The specified queue ${String(url)} does not exist.`);
    return queue;
  }
}

function md5(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}
