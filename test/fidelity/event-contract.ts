/**
 * The documented shape of the events API Gateway sends a WebSocket API's functions (../shared/reference notes,
 * "Event shape"), as a runtime check that lists every difference, so both built and received events are held to it.
 */
export type EventKind = 'AUTHORIZER' | 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

const CLF_TIME = /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/;

export function eventShapeViolations(event: unknown, kind: EventKind): string[] {
  const violations: string[] = [];
  const e = event as Record<string, unknown>;
  const ctx = (e.requestContext ?? {}) as Record<string, unknown>;
  const expectType = (where: Record<string, unknown>, field: string, type: string, prefix = 'requestContext.') => {
    if (typeof where[field] !== type) violations.push(`${prefix}${field} is ${JSON.stringify(where[field])}, not a ${type}`);
  };
  for (const field of ['routeKey', 'connectionId', 'requestId', 'extendedRequestId', 'apiId', 'stage', 'domainName', 'requestTime']) {
    expectType(ctx, field, 'string');
  }
  for (const field of ['connectedAt', 'requestTimeEpoch']) expectType(ctx, field, 'number');
  if (typeof ctx.requestTime === 'string' && !CLF_TIME.test(ctx.requestTime)) violations.push(`requestTime ${ctx.requestTime} is not CLF`);
  if (ctx.messageDirection !== 'IN') violations.push(`messageDirection is ${String(ctx.messageDirection)}`);
  const eventType = kind === 'AUTHORIZER' ? 'CONNECT' : kind;
  if (ctx.eventType !== eventType) violations.push(`eventType is ${String(ctx.eventType)}, not ${eventType}`);
  const identity = (ctx.identity ?? {}) as Record<string, unknown>;
  expectType(identity, 'sourceIp', 'string', 'requestContext.identity.');
  expectType(identity, 'userAgent', 'string', 'requestContext.identity.');
  if (kind === 'MESSAGE') expectType(ctx, 'messageId', 'string');
  else if ('messageId' in ctx) violations.push(`messageId on a ${kind} event (MESSAGE only)`);
  if (kind === 'DISCONNECT') {
    expectType(ctx, 'disconnectStatusCode', 'number');
    expectType(ctx, 'disconnectReason', 'string');
  } else {
    for (const field of ['disconnectStatusCode', 'disconnectReason']) if (field in ctx) violations.push(`${field} on a ${kind} event`);
  }
  if (kind === 'AUTHORIZER') {
    if (e.type !== 'REQUEST') violations.push(`type is ${String(e.type)}, not REQUEST`);
    expectType(e, 'methodArn', 'string', '');
    if ('authorizer' in ctx) violations.push('an authorizer event carries no authorizer context');
  } else if (typeof ctx.authorizer !== 'object' || ctx.authorizer === null) {
    violations.push('requestContext.authorizer (the authorizer context) is missing');
  }
  if (kind === 'AUTHORIZER' || kind === 'CONNECT') {
    expectType(e, 'headers', 'object', '');
    expectType(e, 'multiValueHeaders', 'object', '');
    for (const field of ['queryStringParameters', 'multiValueQueryStringParameters']) {
      if (e[field] !== undefined && typeof e[field] !== 'object') violations.push(`${field} is not an object`);
    }
  }
  if (kind === 'MESSAGE') {
    expectType(e, 'body', 'string', '');
    expectType(e, 'isBase64Encoded', 'boolean', '');
  }
  return violations;
}
