/**
 * A local API Gateway WebSocket stage: the handshake with the plan's authorizer and `$connect` route, route
 * selection, Lambda proxy events, the `@connections` management API (with IAM for its callers), the stage's and
 * the account's throttles, and the service limits clients hit.
 */
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FaultController } from '../faults.ts';
import { accessKeyIdOf } from '../iam.ts';
import type { InvokeResult } from '../lambda/function-pool.ts';
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import type { ApiModel, Route, Throttle } from './api-model.ts';
import {
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  gatewayId,
  messageEvent,
  type ConnectionInfo,
  type HandshakeRequest,
} from './events.ts';
import { FrameSizeGuard, TokenBucket } from './limits.ts';

/** API Gateway's WebSocket quotas (none of these can be raised). */
export const LIMITS = {
  frameBytes: 32 * 1024,
  messageBytes: 128 * 1024,
  idleMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
};

/** Per-account, per-Region quotas (raisable on AWS, so a stack may be booted with others). */
export interface AccountQuotas {
  readonly newConnectionsPerSecond: number;
  /** Shared by every route of every API of the account and by `@connections` callbacks. */
  readonly requestsPerSecond: number;
  readonly requestsBurst: number;
}

export const DEFAULT_ACCOUNT_QUOTAS: AccountQuotas = { newConnectionsPerSecond: 500, requestsPerSecond: 10_000, requestsBurst: 5_000 };

/** Undefined when allowed; otherwise AWS's message for the denial. */
export type Authorize = (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;

export type Invoke = (functionName: string, event: unknown) => Promise<InvokeResult>;
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface GatewayOptions {
  readonly api: ApiModel;
  readonly invoke: Invoke;
  readonly log: (line: string) => void;
  /** Extra HTTP endpoints on the same port (the development identity provider); true when handled. */
  readonly http?: readonly HttpHandler[];
  /** Divides idle and maximum connection durations, so tests can watch them expire. */
  readonly timeScale?: number;
  /** Records one of API Gateway's own metrics (AWS/ApiGateway, per API and stage). */
  readonly metric?: (name: ApiMetric, value: number) => void;
  readonly faults?: FaultController;
  /** IAM for `@connections` callers (execute-api:ManageConnections). */
  readonly authorize?: Authorize;
  readonly quotas?: Partial<AccountQuotas>;
}

export type ApiMetric = 'ConnectCount' | 'MessageCount' | 'IntegrationError' | 'ClientError' | 'ExecutionError' | 'IntegrationLatency';

/** What the gateway keeps per open connection. A class, so every connection shares one object shape. */
class Connection implements ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly domainName: string;
  readonly authorizer?: Record<string, string | number | boolean>;
  lastActiveAt: number;
  /** When the handshake completed: the maximum duration counts from here, as the client sees it. */
  readonly openedAt: number;

  constructor(
    info: ConnectionInfo,
    readonly ws: WebSocket,
  ) {
    this.connectionId = info.connectionId;
    this.connectedAt = info.connectedAt;
    this.sourceIp = info.sourceIp;
    this.userAgent = info.userAgent;
    this.domainName = info.domainName;
    this.authorizer = info.authorizer;
    this.openedAt = Date.now();
    this.lastActiveAt = this.openedAt;
  }
}

/**
 * How often idle and too-old connections are looked for: one sweep over all connections instead of two timers
 * per connection re-armed on every message. A connection closes at most this late (1 s of a 10-minute timeout).
 */
function sweepIntervalMs(timeScale: number): number {
  return Math.max(10, Math.min(1000, LIMITS.idleMs / timeScale / 20));
}

export class Gateway {
  private readonly server: Server;
  // maxPayload bounds a whole message across its frames; each frame's own 32 KB limit is a FrameSizeGuard's.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.messageBytes, perMessageDeflate: false });
  private readonly connections = new Map<string, Connection>();
  private readonly pendingDisconnects = new Set<Promise<unknown>>();
  private readonly api: ApiModel;
  private readonly newConnections: TokenBucket;
  private readonly accountRequests: TokenBucket;
  private readonly routeBuckets = new Map<string, TokenBucket>();
  private readonly managementPrefix: string;
  private readonly formatAccessLog?: (values: Readonly<Record<string, string>>) => string;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: GatewayOptions) {
    this.api = options.api;
    this.managementPrefix = `/${this.api.stage}/@connections/`;
    this.formatAccessLog = this.api.accessLogFormat === undefined ? undefined : accessLogTemplate(this.api.accessLogFormat);
    const quotas = { ...DEFAULT_ACCOUNT_QUOTAS, ...options.quotas };
    this.newConnections = new TokenBucket(quotas.newConnectionsPerSecond, quotas.newConnectionsPerSecond);
    this.accountRequests = new TokenBucket(quotas.requestsPerSecond, quotas.requestsBurst);
    for (const routeKey of this.api.routes.keys()) {
      const throttle: Throttle | undefined = this.api.routeThrottles?.get(routeKey) ?? this.api.throttle;
      if (throttle) this.routeBuckets.set(routeKey, new TokenBucket(throttle.rateLimit, throttle.burstLimit));
    }
    this.server = createServer((req, res) => this.onHttp(req, res));
    this.server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.sweeper = setInterval(() => this.closeExpired(), sweepIntervalMs(options.timeScale ?? 1));
    this.sweeper.unref();
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every connection as API Gateway does on a deployment going away, then the port. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const conn of this.connections.values()) conn.ws.close(1001, 'Going away');
    await Promise.allSettled([...this.pendingDisconnects]);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- handshake -------------------------------------------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.replace(/\/$/, '') !== `/${this.api.stage}`) return reject(socket, 403, 'Forbidden');

    this.metric('ConnectCount', 1);
    const connectedAt = Date.now();
    const conn: ConnectionInfo = {
      connectionId: gatewayId(),
      connectedAt,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
      domainName: req.headers.host ?? 'localhost',
    };
    const handshake = handshakeRequest(req, url);
    const connect = this.api.routes.get('$connect');
    // The account's new-connection rate, then the $connect route's own throttle, as API Gateway checks them.
    if (!this.newConnections.take() || (connect && !this.admit('$connect'))) return this.rejectHandshake(socket, conn, 429);

    if (connect?.authorizer) {
      const outcome = await this.authorize(connect, conn, handshake, url, req);
      if (outcome !== 'allow') return this.rejectHandshake(socket, conn, outcome);
    }
    if (connect) {
      const started = Date.now();
      const result = await this.options.invoke(connect.functionName, connectEvent(this.api, conn, handshake));
      this.metric('IntegrationLatency', Date.now() - started);
      if (result.status === 'throttled') this.metric('ExecutionError', 1);
      else if (result.status !== 'ok') this.metric('IntegrationError', 1);
      const status = integrationStatus(result);
      if (status < 200 || status > 299) return this.rejectHandshake(socket, conn, status);
    }
    if (socket.destroyed) return void this.dispatchDisconnect(conn, 1006, 'Client closed during the handshake');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(conn, ws, socket));
  }

  /** Takes a token from the route's throttle and the account's; false when either is empty. */
  private admit(routeKey: string): boolean {
    const route = this.routeBuckets.get(routeKey);
    return (route ? route.take() : true) && this.accountRequests.take();
  }

  private async authorize(
    route: Route,
    conn: ConnectionInfo,
    handshake: HandshakeRequest,
    url: URL,
    req: IncomingMessage,
  ): Promise<'allow' | number> {
    const authorizer = route.authorizer as NonNullable<Route['authorizer']>;
    if (!authorizer.identitySources.every((source) => identitySourcePresent(source, url, req))) return 401;
    const result = await this.options.invoke(authorizer.functionName, authorizerEvent(this.api, conn, handshake));
    if (result.status === 'error' && result.errorMessage === 'Unauthorized') return 401;
    if (result.status !== 'ok') {
      // An authorizer that cannot answer is API Gateway's own execution failure.
      this.metric('ExecutionError', 1);
      return 500;
    }
    const output = result.payload as AuthorizerOutput | undefined;
    const effect = policyEffect(output, `execute-api:Invoke`);
    if (effect === 'Deny') return 403;
    if (effect !== 'Allow') return 500;
    const context = output?.context ?? {};
    // API Gateway passes only string, number and boolean context values; anything else is a 500.
    if (Object.values(context).some((v) => !['string', 'number', 'boolean'].includes(typeof v))) return 500;
    // Built key by key: spread copies of cloned worker replies got a hidden class each, bytes on every connection.
    const authorizerContext: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(context)) authorizerContext[key] = value as string | number | boolean;
    authorizerContext.principalId = String(output?.principalId ?? '');
    conn.authorizer = authorizerContext;
    return 'allow';
  }

  private rejectHandshake(socket: Duplex, conn: ConnectionInfo, status: number): void {
    if (status >= 400 && status < 500) this.metric('ClientError', 1);
    this.accessLog(conn, '$connect', 'CONNECT', status);
    reject(socket, status, STATUS_CODES[status] ?? 'Error');
  }

  private accept(info: ConnectionInfo, ws: WebSocket, socket: Duplex): void {
    const conn = new Connection(info, ws);
    const frames = new FrameSizeGuard(LIMITS.frameBytes, () => ws.close(1009, 'Message too big'));
    // Ahead of ws's own listener, so a too-big frame is seen before ws could deliver the message it belongs to.
    socket.prependListener('data', (chunk: Buffer) => frames.push(chunk));
    this.connections.set(conn.connectionId, conn);
    this.accessLog(conn, '$connect', 'CONNECT', 200);
    ws.on('message', (data: Buffer, isBinary) => {
      if (frames.exceeded) return;
      conn.lastActiveAt = Date.now();
      void this.onMessage(conn, data, isBinary);
    });
    ws.on('close', (code, reason) => {
      this.connections.delete(conn.connectionId);
      // $disconnect is best effort on AWS; this fault makes it never arrive, leaving stale records behind.
      if (this.options.faults?.get('lost-disconnects')) return;
      this.dispatchDisconnect(conn, code, reason.toString() || closeReason(code));
    });
    ws.on('error', () => ws.terminate());
  }

  /** API Gateway's idle timeout and maximum connection duration, both closing with 1001 Going away. */
  private closeExpired(): void {
    const scale = this.options.timeScale ?? 1;
    const now = Date.now();
    for (const conn of this.connections.values()) {
      const expired = now - conn.lastActiveAt >= LIMITS.idleMs / scale || now - conn.openedAt >= LIMITS.maxConnectionMs / scale;
      if (expired) conn.ws.close(1001, 'Going away');
    }
  }

  private dispatchDisconnect(conn: ConnectionInfo, code: number, reason: string): void {
    const route = this.api.routes.get('$disconnect');
    if (!route) return;
    const pending = this.options.invoke(route.functionName, disconnectEvent(this.api, conn, code, reason)).then((result) => {
      this.accessLog(conn, '$disconnect', 'DISCONNECT', integrationStatus(result));
      this.pendingDisconnects.delete(pending);
    });
    this.pendingDisconnects.add(pending);
  }

  // ---- messages --------------------------------------------------------------------------------------------

  private async onMessage(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    this.metric('MessageCount', 1);
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    const route = isBinary ? this.api.routes.get('$default') : this.selectRoute(body);
    const started = Date.now();
    if (!route) {
      this.send(conn, JSON.stringify({ message: 'Forbidden', connectionId: conn.connectionId, requestId: gatewayId() }));
      return;
    }
    if (!this.admit(route.routeKey)) {
      // What API Gateway sends for a throttled WebSocket message; the function never runs.
      this.metric('ClientError', 1);
      this.accessLog(conn, route.routeKey, 'MESSAGE', 429);
      this.send(conn, JSON.stringify({ message: 'Too Many Requests', connectionId: conn.connectionId, requestId: gatewayId() }));
      return;
    }
    const event = messageEvent(this.api, conn, route.routeKey, body, isBinary);
    const result = await this.options.invoke(route.functionName, event);
    this.metric('IntegrationLatency', Date.now() - started);
    if (result.status === 'throttled') this.metric('ExecutionError', 1);
    else if (result.status !== 'ok') this.metric('IntegrationError', 1);
    this.accessLog(conn, route.routeKey, 'MESSAGE', integrationStatus(result), Date.now() - started, result);
    if (result.status !== 'ok') {
      // What API Gateway sends when the integration fails or times out.
      this.send(
        conn,
        JSON.stringify({
          message: 'Internal server error',
          connectionId: conn.connectionId,
          requestId: event.requestContext.requestId,
        }),
      );
    }
  }

  private selectRoute(body: string): Route | undefined {
    let selected: unknown;
    try {
      selected = this.api.routeSelectionPath.reduce<unknown>(
        (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
        JSON.parse(body),
      );
    } catch {
      selected = undefined;
    }
    const routeKey = typeof selected === 'string' && !selected.startsWith('$') ? selected : undefined;
    return (routeKey && this.api.routes.get(routeKey)) || this.api.routes.get('$default');
  }

  private send(conn: Connection, payload: string): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(payload);
    conn.lastActiveAt = Date.now();
  }

  /** A @connections post: its bytes go out as a text frame, as they came (invalid UTF-8 is replaced). */
  private post(conn: Connection, data: Buffer): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    // Valid UTF-8 is sent as it is, instead of being decoded into a string that ws encodes again.
    if (isUtf8(data)) conn.ws.send(data, { binary: false });
    else conn.ws.send(data.toString('utf8'));
    conn.lastActiveAt = Date.now();
  }

  // ---- @connections ----------------------------------------------------------------------------------------

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    if (target.startsWith(this.managementPrefix)) {
      const query = target.indexOf('?');
      const connectionId = target.slice(this.managementPrefix.length, query < 0 ? undefined : query);
      this.onManagement(req, res, decodeURIComponent(connectionId));
      return;
    }
    for (const handler of this.options.http ?? []) if (handler(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
  }

  private metric(name: ApiMetric, value: number): void {
    this.options.metric?.(name, value);
  }

  private onManagement(req: IncomingMessage, res: ServerResponse, connectionId: string): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= LIMITS.messageBytes) chunks.push(chunk);
    });
    req.on('end', async () => {
      const method = req.method ?? 'GET';
      const resource = `arn:aws:execute-api:${this.api.region}:${LOCAL_ACCOUNT_ID}:${this.api.apiId}/${this.api.stage}/${method}/@connections/${connectionId}`;
      const denied = this.options.authorize?.(accessKeyIdOf(req.headers.authorization), 'execute-api:ManageConnections', resource);
      if (denied) return managementError(res, 403, 'ForbiddenException', denied);
      if (!this.accountRequests.take()) return managementError(res, 429, 'LimitExceededException', 'Too Many Requests');
      const slow = this.options.faults?.get('slow-fanout');
      if (slow && req.method === 'POST') await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
      if (this.options.faults?.get('connections-api-error') && req.method === 'POST') {
        // An injected answer: API Gateway's own 500 for a post, which no real local fault produces.
        return managementError(res, 500, 'InternalServerErrorException', 'Internal server error (injected)');
      }
      const conn = this.connections.get(connectionId);
      if (!conn) return managementError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
      switch (req.method) {
        case 'POST':
          if (size > LIMITS.messageBytes) {
            return managementError(res, 413, 'PayloadTooLargeException', 'Message too large');
          }
          this.metric('MessageCount', 1);
          this.post(conn, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
          return void res.writeHead(200).end();
        case 'GET':
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(
            JSON.stringify({
              connectedAt: new Date(conn.connectedAt).toISOString(),
              identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
              lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
            }),
          );
        case 'DELETE':
          conn.ws.close(1000, 'Connection deleted');
          return void res.writeHead(204).end();
        default:
          return managementError(res, 405, 'MethodNotAllowedException', `${req.method} is not supported`);
      }
    });
  }

  // ---- access log ------------------------------------------------------------------------------------------

  private accessLog(
    conn: ConnectionInfo,
    routeKey: string,
    eventType: string,
    status: number,
    latencyMs?: number,
    result?: InvokeResult,
  ): void {
    if (!this.formatAccessLog) return;
    const line = this.formatAccessLog({
      requestId: gatewayId(),
      connectionId: conn.connectionId,
      routeKey,
      eventType,
      status: String(status),
      integrationStatus: String(status),
      integrationLatency: latencyMs === undefined ? '-' : String(latencyMs),
      integrationErrorMessage: result && result.status !== 'ok' ? result.errorMessage : '-',
      'authorizer.error': status === 401 || status === 403 ? (STATUS_CODES[status] ?? '-') : '-',
      'error.message': status >= 400 ? (STATUS_CODES[status] ?? '-') : '-',
      'identity.sourceIp': conn.sourceIp,
      requestTimeEpoch: String(Date.now()),
    });
    this.options.log(line);
  }
}

/** The stage's access log format, split once into its text and its `$context` variables. */
function accessLogTemplate(format: string): (values: Readonly<Record<string, string>>) => string {
  const texts: string[] = [];
  const keys: string[] = [];
  let last = 0;
  for (const match of format.matchAll(/\$context\.([A-Za-z.]+)/g)) {
    texts.push(format.slice(last, match.index));
    keys.push(match[1] as string);
    last = (match.index as number) + match[0].length;
  }
  const tail = format.slice(last);
  // Values are escaped as JSON string contents: the formats API Gateway is given are JSON.
  return (values) => keys.reduce((line, key, i) => line + texts[i] + JSON.stringify(values[key] ?? '-').slice(1, -1), '') + tail;
}

interface AuthorizerOutput {
  principalId?: string;
  policyDocument?: { Statement?: { Effect?: string; Action?: string | string[]; Resource?: string | string[] }[] };
  context?: Record<string, unknown>;
}

/** Deny wins over Allow; no matching statement is neither (a misconfigured authorizer: 500). */
function policyEffect(output: AuthorizerOutput | undefined, action: string): 'Allow' | 'Deny' | undefined {
  const statements = output?.policyDocument?.Statement ?? [];
  const matching = statements.filter((s) => [s.Action ?? []].flat().some((a) => wildcard(a).test(action)));
  if (matching.some((s) => s.Effect === 'Deny')) return 'Deny';
  if (matching.some((s) => s.Effect === 'Allow')) return 'Allow';
  return undefined;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

function identitySourcePresent(source: string, url: URL, req: IncomingMessage): boolean {
  const [, where, name] = /^route\.request\.(querystring|header)\.(.+)$/.exec(source) ?? [];
  if (!where || !name) return false;
  if (where === 'querystring') return !!url.searchParams.get(name);
  return !!req.headers[name.toLowerCase()];
}

function handshakeRequest(req: IncomingMessage, url: URL): HandshakeRequest {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    (multiQuery[key] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : undefined,
    multiValueQueryStringParameters: hasQuery ? multiQuery : undefined,
  };
}

/** The status API Gateway derives from a Lambda proxy integration: its statusCode, or 500 when it failed. */
function integrationStatus(result: InvokeResult): number {
  if (result.status !== 'ok') return 500;
  const statusCode = (result.payload as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : 200;
}

function closeReason(code: number): string {
  if (code === 1009) return 'Message too big';
  if (code === 1001) return 'Going away';
  if (code === 1006) return 'Connection closed abnormally';
  return 'Client closed';
}

function reject(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function managementError(res: ServerResponse, status: number, type: string, message: string): void {
  // The SDK names its error from this header; without it a 410 would not surface as GoneException.
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ message }));
}
