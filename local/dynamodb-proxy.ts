/**
 * Sits between the functions and the DynamoDB endpoint: checks each call against the calling function's IAM
 * policies, measures what CloudWatch would report per table (latency, consumed capacity, throttles, system
 * errors) and injects DynamoDB faults.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultController } from './faults.ts';
import { accessKeyIdOf } from './iam.ts';

export type TableMetric = (table: string, name: string, value: number, extra?: Record<string, string>) => void;

/** Undefined when the caller may make this call; otherwise AWS's AccessDenied message. */
export type DynamoAuthorizer = (accessKeyId: string | undefined, operation: string, body: Record<string, unknown>) => string | undefined;

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

export class DynamoProxy {
  private server: Server;
  private port = 0;

  constructor(
    private readonly target: string,
    private readonly faults: FaultController,
    private readonly metric: TableMetric,
    private readonly authorize?: DynamoAuthorizer,
  ) {
    this.server = this.createServer();
    faults.onChange((kind, on) => {
      if (kind === 'dynamodb-unreachable') void (on ? this.stopListening() : this.listen());
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<string> {
    if (this.server.listening) return this.endpoint;
    this.server = this.createServer();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.endpoint;
  }

  /** Unreachable for real: the port refuses connections and open ones are cut. */
  async stopListening(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private createServer(): Server {
    return createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'Unknown';
    let table = 'unknown';
    let input: Record<string, unknown> | undefined;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      table = String(input.TableName ?? 'unknown');
    } catch {
      // Not JSON: forwarded as is; DynamoDB will reject it (there is nothing to authorize).
    }
    const denied = input && this.authorize?.(accessKeyIdOf(req.headers.authorization), operation, input);
    if (denied) return this.reject(res, 400, 'com.amazon.coral.service#AccessDeniedException', denied);
    const isRead = READS.has(operation);
    const slow = this.faults.get('dynamodb-slow');
    if (slow) await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
    if (this.faults.get('dynamodb-throttle')) {
      // On-demand tables on dynalite never throttle; this answer is what DynamoDB sends when one does.
      this.metric(table, isRead ? 'ReadThrottleEvents' : 'WriteThrottleEvents', 1);
      return this.reject(res, 400, 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 'Throughput exceeded (injected)');
    }
    if (this.faults.get('dynamodb-system-error')) {
      // Likewise an injected answer: DynamoDB's own 500.
      this.metric(table, 'SystemErrors', 1);
      return this.reject(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error (injected)');
    }
    const started = Date.now();
    const upstream = request(
      `${this.target}${req.url ?? '/'}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          if ((answer.statusCode ?? 500) < 400) {
            this.metric(table, 'SuccessfulRequestLatency', Date.now() - started, { Operation: operation });
            // On-demand capacity, approximated as one unit per request (items here are small).
            this.metric(table, isRead ? 'ConsumedReadCapacityUnits' : 'ConsumedWriteCapacityUnits', 1);
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }

  private reject(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type.split('#')[1] ?? type });
    res.end(JSON.stringify({ __type: type, message }));
  }
}
