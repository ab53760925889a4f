/** The stage's `@connections` management API: POST, GET and DELETE on a connection, with IAM for its callers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultController } from '../faults.ts';
import { accessKeyIdOf } from '../iam.ts';
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import type { ApiModel } from './api-model.ts';
import type { Connection } from './connection.ts';
import { LIMITS } from './limits.ts';
import type { RecordMetric } from './routing.ts';

/** Undefined when allowed; otherwise AWS's error type and message for the refusal (all answered 403). */
export type Authorize = (
  accessKeyId: string | undefined,
  action: string,
  resource: string,
) => { readonly type: string; readonly message: string } | undefined;

export interface ConnectionsApiContext {
  readonly api: ApiModel;
  readonly connections: ReadonlyMap<string, Connection>;
  readonly metric: RecordMetric;
  /** The account's request quota, which callbacks share with the routes. */
  readonly admitCallback: () => boolean;
  /** IAM for callers (execute-api:ManageConnections). */
  readonly authorize?: Authorize;
  readonly faults?: FaultController;
}

export class ConnectionsApi {
  private readonly prefix: string;

  constructor(private readonly context: ConnectionsApiContext) {
    this.prefix = `/${context.api.stage}/@connections/`;
  }

  /** Answers the request when it is a `@connections` call; false when it is not one. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    if (!target.startsWith(this.prefix)) return false;
    const query = target.indexOf('?');
    this.serve(req, res, decodeURIComponent(target.slice(this.prefix.length, query < 0 ? undefined : query)));
    return true;
  }

  private serve(req: IncomingMessage, res: ServerResponse, connectionId: string): void {
    const { api, faults } = this.context;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= LIMITS.messageBytes) chunks.push(chunk);
    });
    req.on('end', async () => {
      const method = req.method ?? 'GET';
      const resource = `arn:aws:execute-api:${api.region}:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/${method}/@connections/${connectionId}`;
      const denied = this.context.authorize?.(accessKeyIdOf(req.headers.authorization), 'execute-api:ManageConnections', resource);
      if (denied) return managementError(res, 403, denied.type, denied.message);
      if (!this.context.admitCallback()) return managementError(res, 429, 'LimitExceededException', 'Too Many Requests');
      const slow = faults?.get('slow-fanout');
      if (slow && req.method === 'POST') await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
      const failing = faults?.get('connections-api-error');
      if (failing && req.method === (failing.method ?? 'POST')) {
        // An injected answer: API Gateway's own 500, which no real local fault produces.
        return managementError(res, 500, 'InternalServerErrorException', 'Internal server error (injected)');
      }
      const conn = this.context.connections.get(connectionId);
      if (!conn) return managementError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
      switch (req.method) {
        case 'POST':
          if (size > LIMITS.messageBytes) {
            return managementError(res, 413, 'PayloadTooLargeException', 'Message too large');
          }
          this.context.metric('MessageCount', 1);
          conn.post(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
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
}

function managementError(res: ServerResponse, status: number, type: string, message: string): void {
  // The SDK names its error from this header; without it a 410 would not surface as GoneException.
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ message }));
}
