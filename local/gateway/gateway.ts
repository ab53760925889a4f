/**
 * A local API Gateway WebSocket stage: composes the handshake, route selection and Lambda proxy events, the
 * `@connections` management API, the stage's and the account's throttles, the service limits clients hit and
 * the access log, and keeps the open connections.
 */
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FaultController } from '../faults.ts';
import { closeNow } from '../loopback-server.ts';
import { accessLog, type AccessLog } from './access-log.ts';
import type { ApiModel } from './api-model.ts';
import { closeReason, Connection } from './connection.ts';
import { ConnectionsApi, type Authorize } from './connections-api.ts';
import { disconnectEvent, gatewayId, messageEvent, type ConnectionInfo } from './events.ts';
import { handshake, isStagePath, refuseUpgrade } from './handshake.ts';
import { DEFAULT_ACCOUNT_QUOTAS, LIMITS, StageThrottles, type AccountQuotas } from './limits.ts';
import { integrate, integrationStatus, selectRoute, type ApiMetric, type Invoke } from './routing.ts';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface GatewayOptions {
  readonly api: ApiModel;
  readonly invoke: Invoke;
  readonly log: (line: string) => void;
  /**
   * The HTTP server the gateway answers on, already listening: the stack opens it first because its port goes into
   * the plan's variables (a port picked and released earlier could be taken by another process before the listen).
   */
  readonly server: Server;
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
  /**
   * The clock throttles refill and connections expire on (default: the wall clock). Tests pass a virtual one, so
   * a busy machine cannot make a throttle refill or a connection go idle behind the test's back.
   */
  readonly clock?: () => number;
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
  // No client tracking: `connections` is the one record of the open sockets (ws's would be a second per connection).
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.messageBytes, perMessageDeflate: false, clientTracking: false });
  private readonly connections = new Map<string, Connection>();
  private readonly pendingDisconnects = new Set<Promise<unknown>>();
  /** False once the gateway closes without running `$disconnect`. */
  private disconnectsRun = true;
  private readonly api: ApiModel;
  private readonly throttles: StageThrottles;
  private readonly connectionsApi: ConnectionsApi;
  private readonly accessLog: AccessLog;
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;

  constructor(private readonly options: GatewayOptions) {
    this.api = options.api;
    this.clock = options.clock ?? Date.now;
    this.throttles = new StageThrottles(this.api, { ...DEFAULT_ACCOUNT_QUOTAS, ...options.quotas }, this.clock);
    this.accessLog = accessLog(this.api.accessLogFormat, options.log);
    this.connectionsApi = new ConnectionsApi({
      api: this.api,
      connections: this.connections,
      metric: this.metric,
      admitCallback: () => this.throttles.admitCallback(),
      authorize: options.authorize,
      faults: options.faults,
    });
    this.server = options.server;
    this.server.on('request', (req, res) => this.onHttp(req, res));
    this.server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.sweeper = setInterval(() => this.closeExpiredConnections(), sweepIntervalMs(options.timeScale ?? 1));
    this.sweeper.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Closes every connection as API Gateway does on a deployment going away, then the port.
   * `runDisconnects: false` (a test's teardown) cuts every socket without running `$disconnect`, which AWS only
   * promises on a best-effort basis: a closing stack owes nobody the presence fan-out of a room of hundreds.
   */
  async close({ runDisconnects = true }: { runDisconnects?: boolean } = {}): Promise<void> {
    clearInterval(this.sweeper);
    this.disconnectsRun = runDisconnects;
    if (runDisconnects) {
      for (const conn of this.connections.values()) conn.ws.close(1001, 'Going away');
      await Promise.allSettled([...this.pendingDisconnects]);
    } else this.dropAllConnections();
    await closeNow(this.server);
  }

  private readonly metric = (name: ApiMetric, value: number): void => {
    this.options.metric?.(name, value);
  };

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    if (this.connectionsApi.handle(req, res)) return;
    for (const handler of this.options.http ?? []) if (handler(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
  }

  // ---- connection lifecycle --------------------------------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', destroySocket);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!isStagePath(url, this.api.stage)) return refuseUpgrade(socket, 403);

    this.metric('ConnectCount', 1);
    const { conn, refusedWith } = await handshake(req, url, {
      api: this.api,
      invoke: this.options.invoke,
      metric: this.metric,
      admitConnection: () => this.throttles.admitConnection(),
    });
    if (refusedWith !== undefined) {
      if (refusedWith >= 400 && refusedWith < 500) this.metric('ClientError', 1);
      this.accessLog({ conn, routeKey: '$connect', eventType: 'CONNECT', status: refusedWith });
      return refuseUpgrade(socket, refusedWith);
    }
    if (socket.destroyed) return void this.dispatchDisconnect(conn, 1006, 'Client closed during the handshake');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(conn, ws, socket));
  }

  /**
   * Per open connection the gateway keeps one Connection and three listeners closing over it alone (the handshake's
   * request, its error listener and its closures are dropped here), since thousands of idle ones are the usual load.
   */
  private accept(info: ConnectionInfo, ws: WebSocket, socket: Duplex): void {
    // ws's own error listener on the socket takes over from the handshake's.
    socket.off('error', destroySocket);
    const conn = new Connection(info, ws, this.clock);
    // Ahead of ws's own listener, so a too-big frame is seen before ws could deliver the message it belongs to.
    socket.prependListener('data', (chunk: Buffer) => {
      if (conn.frames.push(chunk)) conn.ws.close(1009, 'Message too big');
    });
    this.connections.set(conn.connectionId, conn);
    this.accessLog({ conn, routeKey: '$connect', eventType: 'CONNECT', status: 200 });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (conn.frames.exceeded) return;
      conn.lastActiveAt = this.clock();
      void this.onMessage(conn, data, isBinary);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.connections.delete(conn.connectionId);
      // $disconnect is best effort on AWS; this fault makes it never arrive, leaving stale records behind.
      if (this.options.faults?.get('lost-disconnects')) return;
      this.dispatchDisconnect(conn, code, reason.toString() || closeReason(code));
    });
    ws.on('error', terminateSocket);
  }

  /**
   * API Gateway's idle timeout and maximum connection duration, both closing with 1001 Going away. Runs on a
   * timer; tests on a virtual clock call it after moving the clock. Returns how many connections it began to close.
   */
  closeExpiredConnections(): number {
    const scale = this.options.timeScale ?? 1;
    const now = this.clock();
    let closing = 0;
    for (const conn of this.connections.values()) {
      const expired = now - conn.lastActiveAt >= LIMITS.idleMs / scale || now - conn.openedAt >= LIMITS.maxConnectionMs / scale;
      if (expired && conn.ws.readyState === conn.ws.OPEN) {
        conn.ws.close(1001, 'Going away');
        closing++;
      }
    }
    return closing;
  }

  /**
   * Drops every open connection at once without a close frame, as a network blip or a fleet restart does: each
   * client sees 1006 (closed abnormally) and $disconnect reports the same. Returns how many were dropped.
   */
  dropAllConnections(): number {
    const open = [...this.connections.values()];
    for (const conn of open) conn.ws.terminate();
    return open.length;
  }

  private dispatchDisconnect(conn: ConnectionInfo, code: number, reason: string): void {
    const route = this.api.routes.get('$disconnect');
    if (!route || !this.disconnectsRun) return;
    const pending = this.options.invoke(route, disconnectEvent(this.api, conn, code, reason)).then((result) => {
      this.accessLog({ conn, routeKey: '$disconnect', eventType: 'DISCONNECT', status: integrationStatus(result) });
      this.pendingDisconnects.delete(pending);
    });
    this.pendingDisconnects.add(pending);
  }

  // ---- messages --------------------------------------------------------------------------------------------

  private async onMessage(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    this.metric('MessageCount', 1);
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    const route = selectRoute(this.api, body, isBinary);
    if (!route) return conn.send(gatewayMessage('Forbidden', conn.connectionId, gatewayId()));
    if (!this.throttles.admitRequest(route.routeKey)) {
      // What API Gateway sends for a throttled WebSocket message; the function never runs.
      this.metric('ClientError', 1);
      this.accessLog({ conn, routeKey: route.routeKey, eventType: 'MESSAGE', status: 429 });
      return conn.send(gatewayMessage('Too Many Requests', conn.connectionId, gatewayId()));
    }
    const event = messageEvent(this.api, conn, route.routeKey, body, isBinary);
    const { result, status, latencyMs } = await integrate(this.options.invoke, this.metric, route, event);
    this.accessLog({ conn, routeKey: route.routeKey, eventType: 'MESSAGE', status, latencyMs, result });
    // What API Gateway sends when the integration fails or times out.
    if (result.status !== 'ok') conn.send(gatewayMessage('Internal server error', conn.connectionId, event.requestContext.requestId));
  }
}

// Listeners shared by every connection (`this` is the emitter), instead of a closure each.
function destroySocket(this: Duplex): void {
  this.destroy();
}

function terminateSocket(this: WebSocket): void {
  this.terminate();
}

/** A frame of API Gateway's own, sent when a message did not reach (or failed in) its function. */
function gatewayMessage(message: string, connectionId: string, requestId: string): string {
  return JSON.stringify({ message, connectionId, requestId });
}
