/**
 * The local gateway's events against @types/aws-lambda (compile time, `satisfies`) and against the documented
 * requestContext fields of each event type (run time). Events received through the real gateway are checked
 * against the same rules in gateway-limits.test.ts.
 */
import type { APIGatewayProxyWebsocketEventV2, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ApiModel } from '../../local/gateway/api-model.ts';
import { authorizerEvent, connectEvent, disconnectEvent, messageEvent, type ConnectionInfo, type HandshakeRequest } from '../../local/gateway/events.ts';
import { eventShapeViolations } from './event-contract.ts';

const api: ApiModel = { apiId: 'abcdef1234', region: 'eu-west-1', stage: 'dev', routeSelectionPath: ['action'], routes: new Map() };
const conn: ConnectionInfo = {
  connectionId: 'L0SM9cOFvHcCIhw=',
  connectedAt: Date.now(),
  sourceIp: '127.0.0.1',
  userAgent: 'test-agent',
  domainName: '127.0.0.1:8080',
  authorizer: { userId: 'alice', principalId: 'alice' },
};
const handshake: HandshakeRequest = {
  headers: { Host: '127.0.0.1:8080' },
  multiValueHeaders: { Host: ['127.0.0.1:8080'] },
  queryStringParameters: { token: 't' },
  multiValueQueryStringParameters: { token: ['t'] },
};

// messageId exists on MESSAGE events only (the type declares it on all); the authorizer event's requestContext is
// the WebSocket one, not the REST requestContext the type declares, so only its top-level fields are compared.
type WebsocketEventWithoutMessageId = Omit<APIGatewayProxyWebsocketEventV2, 'requestContext'> & {
  requestContext: Omit<APIGatewayProxyWebsocketEventV2['requestContext'], 'messageId'>;
};
type WebsocketAuthorizerEvent = Pick<
  APIGatewayRequestAuthorizerEvent,
  'type' | 'methodArn' | 'headers' | 'multiValueHeaders' | 'stageVariables'
> & { requestContext: WebsocketEventWithoutMessageId['requestContext'] };

describe('events match @types/aws-lambda and the documented fields', () => {
  it('MESSAGE', () => {
    const event = messageEvent(api, conn, 'send', '{"action":"send"}', false) satisfies APIGatewayProxyWebsocketEventV2;
    expect(eventShapeViolations(event, 'MESSAGE')).toEqual([]);
    expect(event.requestContext.authorizer).toEqual(conn.authorizer);
  });

  it('CONNECT', () => {
    const event = connectEvent(api, conn, handshake) satisfies WebsocketEventWithoutMessageId;
    expect(eventShapeViolations(event, 'CONNECT')).toEqual([]);
    expect(event.queryStringParameters).toEqual({ token: 't' });
  });

  it('DISCONNECT', () => {
    const event = disconnectEvent(api, conn, 1001, 'Going away') satisfies WebsocketEventWithoutMessageId;
    expect(eventShapeViolations(event, 'DISCONNECT')).toEqual([]);
    expect(event.requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('the REQUEST authorizer event', () => {
    const event = authorizerEvent(api, conn, handshake) satisfies WebsocketAuthorizerEvent;
    expect(eventShapeViolations(event, 'AUTHORIZER')).toEqual([]);
    expect(event.methodArn).toBe('arn:aws:execute-api:eu-west-1:000000000000:abcdef1234/dev/$connect');
  });

  it('the checker itself finds what is wrong', () => {
    const event = messageEvent(api, conn, 'send', 'x', false);
    const broken = { ...event, isBase64Encoded: 'no', requestContext: { ...event.requestContext, messageDirection: 'OUT', requestTime: 'now', messageId: undefined } };
    expect(eventShapeViolations(broken, 'MESSAGE')).toEqual([
      'requestTime now is not CLF',
      'messageDirection is OUT',
      'requestContext.messageId is undefined, not a string',
      'isBase64Encoded is "no", not a boolean',
    ]);
    expect(eventShapeViolations(disconnectEvent(api, conn, 1000, 'x'), 'MESSAGE')).toContain('eventType is DISCONNECT, not MESSAGE');
  });
});
