/** Lambda events shaped as API Gateway sends them for WebSocket APIs (see ../../../shared reference notes). */
import { LOCAL_ACCOUNT_ID } from '../plan.ts';
import { randomId } from '../random-id.ts';
import type { ApiModel } from './api-model.ts';

export interface ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly domainName: string;
  /** The authorizer's context plus principalId, as every later route sees it. */
  authorizer?: Record<string, string | number | boolean>;
}

/** API Gateway ids look like `L0SM9cOFvHcCIhw=`: 10 random bytes, base64. */
export function gatewayId(): string {
  return randomId(10, 'base64');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `27/Nov/2026:23:45:00 +0000`, the CLF time API Gateway puts in requestTime. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export function methodArn(api: ApiModel, routeKey: string): string {
  return `arn:aws:execute-api:${api.region}:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/${routeKey}`;
}

type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

function baseContext(api: ApiModel, conn: ConnectionInfo, routeKey: string, eventType: EventType) {
  const now = Date.now();
  const requestId = gatewayId();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN' as const,
    stage: api.stage,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
    requestId,
    domainName: conn.domainName,
    connectionId: conn.connectionId,
    apiId: api.apiId,
  };
}

export interface HandshakeRequest {
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters?: Record<string, string>;
  readonly multiValueQueryStringParameters?: Record<string, string[]>;
}

export function authorizerEvent(api: ApiModel, conn: ConnectionInfo, req: HandshakeRequest) {
  return {
    type: 'REQUEST' as const,
    methodArn: methodArn(api, '$connect'),
    ...req,
    stageVariables: {},
    requestContext: baseContext(api, conn, '$connect', 'CONNECT'),
  };
}

export function connectEvent(api: ApiModel, conn: ConnectionInfo, req: HandshakeRequest) {
  return {
    ...req,
    requestContext: { ...baseContext(api, conn, '$connect', 'CONNECT'), authorizer: conn.authorizer },
    isBase64Encoded: false,
  };
}

export function messageEvent(api: ApiModel, conn: ConnectionInfo, routeKey: string, body: string, isBase64Encoded: boolean) {
  return {
    requestContext: {
      ...baseContext(api, conn, routeKey, 'MESSAGE'),
      messageId: gatewayId(),
      authorizer: conn.authorizer,
    },
    body,
    isBase64Encoded,
  };
}

export function disconnectEvent(api: ApiModel, conn: ConnectionInfo, statusCode: number, reason: string) {
  return {
    headers: { Host: conn.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    multiValueHeaders: {},
    requestContext: {
      ...baseContext(api, conn, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
      authorizer: conn.authorizer,
    },
    isBase64Encoded: false,
  };
}
