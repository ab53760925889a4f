/**
 * Sits between the functions and the DynamoDB endpoint: checks each call against the calling function's IAM
 * policies, measures what CloudWatch would report per table (latency, consumed capacity as DynamoDB reports it,
 * throttles, system errors) and injects DynamoDB faults.
 */
import { Agent, createServer, request, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { FaultController } from './faults.ts';
import { accessKeyIdOf } from './iam.ts';
import { closeNow } from './loopback-server.ts';

export type TableMetric = (table: string, name: string, value: number, extra?: Record<string, string>) => void;

/** Undefined when the caller may make this call; otherwise AWS's AccessDenied message. */
export type DynamoAuthorizer = (accessKeyId: string | undefined, operation: string, body: Record<string, unknown>) => string | undefined;

/**
 * Where checked calls go: a DynamoDB endpoint's URL, or the request listener of a DynamoDB embedded in this process
 * (dynalite), which is handed each call directly instead of over a second HTTP connection.
 */
export type DynamoUpstream = string | RequestListener;

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

export class DynamoProxy {
  private server: Server;
  private port = 0;
  /** Connections to an endpoint given by URL are reused, not opened per call. */
  private readonly agent = new Agent({ keepAlive: true });
  /** Calls received whose upstream answer has not been written yet; close() waits for them. */
  private readonly callsInFlight = new Set<Promise<void>>();

  constructor(
    private readonly upstream: DynamoUpstream,
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
    await closeNow(this.server);
  }

  /**
   * For good: stops listening, then waits until every call already handed upstream has its answer, so the
   * DynamoDB behind the proxy can be shut down without a call still running inside it (dynalite throws an
   * uncaught "Database is closed" from a write that outlives it).
   */
  async close(): Promise<void> {
    await this.stopListening();
    await Promise.all([...this.callsInFlight]);
    this.agent.destroy();
  }

  private createServer(): Server {
    return createServer((req, res) => {
      const call = readBody(req)
        .then((body) => this.handle(req, res, body))
        .catch(() => void res.destroy());
      this.callsInFlight.add(call);
      void call.then(() => this.callsInFlight.delete(call));
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
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
    // A slow DynamoDB is slow inside the service: its SuccessfulRequestLatency includes the injected delay.
    const started = Date.now();
    const slow = this.faults.get('dynamodb-slow');
    if (slow) await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
    const onThisTable = (fault: { tableName?: string } | undefined) => fault !== undefined && (fault.tableName === undefined || fault.tableName === table);
    if (onThisTable(this.faults.get('dynamodb-throttle'))) {
      // On-demand tables on dynalite never throttle; this answer is what DynamoDB sends when one does.
      // As DynamoDB publishes it: a request on a global secondary index throttles that index's series.
      const index = typeof input?.IndexName === 'string' ? { GlobalSecondaryIndexName: input.IndexName } : undefined;
      this.metric(table, isRead ? 'ReadThrottleEvents' : 'WriteThrottleEvents', 1, index);
      return this.reject(res, 400, 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 'Throughput exceeded (injected)');
    }
    if (onThisTable(this.faults.get('dynamodb-system-error'))) {
      // Likewise an injected answer: DynamoDB's own 500.
      this.metric(table, 'SystemErrors', 1, { Operation: operation });
      return this.reject(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error (injected)');
    }
    // The units DynamoDB bills are in its answer when asked for: ask on the caller's behalf, read them from the answer.
    const { forwardedBody, headers } = askForConsumedCapacity(req, body, input);
    const answer = captured(res);
    res.once('finish', () => {
      if (res.statusCode >= 400) return;
      this.metric(table, 'SuccessfulRequestLatency', Date.now() - started, { Operation: operation });
      for (const consumed of consumedCapacity(answer())) {
        this.metric(consumed.table ?? table, isRead ? 'ConsumedReadCapacityUnits' : 'ConsumedWriteCapacityUnits', consumed.units);
      }
    });
    if (typeof this.upstream === 'function') {
      // Resolves when the embedded DynamoDB writes its answer: even to a caller whose socket is already gone,
      // for which 'finish' never comes.
      await new Promise<void>((resolve) => {
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          resolve();
          return end(...args);
        }) as ServerResponse['end'];
        (this.upstream as RequestListener)(replayed(req, forwardedBody, headers), res);
      });
      return;
    }
    const forwarded = request(`${this.upstream}${req.url ?? '/'}`, { method: req.method, headers, agent: this.agent }, (upstreamAnswer) => {
      res.writeHead(upstreamAnswer.statusCode ?? 502, upstreamAnswer.headers);
      upstreamAnswer.pipe(res);
    });
    forwarded.on('error', () => res.destroy());
    forwarded.end(forwardedBody);
  }

  private reject(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type.split('#')[1] ?? type });
    res.end(JSON.stringify({ __type: type, message }));
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request with its body readable again, for the embedded DynamoDB's listener (the proxy consumed it). */
function replayed(req: IncomingMessage, body: Buffer, headers: IncomingMessage['headers']): IncomingMessage {
  const copy = new Readable({ read() {} });
  if (body.length > 0) copy.push(body);
  copy.push(null);
  return Object.assign(copy, { headers, method: req.method, url: req.url }) as unknown as IncomingMessage;
}

/**
 * The call as forwarded: with `ReturnConsumedCapacity: TOTAL` added when the caller did not choose (DynamoDB then
 * reports the request units it charged, from the items' sizes), and its length header to match. The endpoints
 * behind the proxy do not verify signatures, which the added field changes.
 */
function askForConsumedCapacity(
  req: IncomingMessage,
  body: Buffer,
  input: Record<string, unknown> | undefined,
): { forwardedBody: Buffer; headers: IncomingMessage['headers'] } {
  if (!input || input.ReturnConsumedCapacity !== undefined) return { forwardedBody: body, headers: req.headers };
  const forwardedBody = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }));
  return { forwardedBody, headers: { ...req.headers, 'content-length': String(forwardedBody.length) } };
}

/** Keeps a copy of what is written to `res`; the returned function gives it as text once the answer is complete. */
function captured(res: ServerResponse): () => string {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    keep(args[0], args[1]);
    return write(...args);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') keep(args[0], args[1]);
    return end(...args);
  }) as ServerResponse['end'];
  return () => Buffer.concat(chunks).toString('utf8');
}

/** The units an answer reports (one entry per table for batch calls); one unit when it reports none. */
export function consumedCapacity(answer: string): { table?: string; units: number }[] {
  let parsed: { ConsumedCapacity?: unknown } | undefined;
  try {
    parsed = JSON.parse(answer) as { ConsumedCapacity?: unknown };
  } catch {
    return [{ units: 1 }];
  }
  const entries = [parsed?.ConsumedCapacity ?? []].flat() as { TableName?: string; CapacityUnits?: number }[];
  const reported = entries.filter((e) => typeof e.CapacityUnits === 'number');
  if (reported.length === 0) return [{ units: 1 }];
  return reported.map((e) => ({ table: e.TableName, units: e.CapacityUnits! }));
}
