import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorize, Unauthorized } from '../app/authorize.ts';
import { describeError, JwksTokenVerifier } from '../adapters/jwt-verifier.ts';
import { canaryIdentityFromEnv, ENV, requireEnv } from '../catalog/env.ts';
import { TOKEN_QUERY_PARAMETER } from '../catalog/functions.ts';
import { encodeRoomScope } from '../domain/access.ts';
import { logger, telemetry, withLogsAndMetrics } from '../runtime/observability.ts';

const canary = canaryIdentityFromEnv();
const verifier = new JwksTokenVerifier({
  issuer: requireEnv(ENV.jwtIssuer),
  audience: requireEnv(ENV.jwtAudience),
  jwksUrl: requireEnv(ENV.jwksUrl),
  ...(canary ? { machineClient: { clientId: canary.clientId, scope: canary.scope } } : {}),
  onStaleKeys(ageMs, error) {
    telemetry.count('JwksRefreshFailed');
    logger.warn('JWKS refresh failed; verifying with the last good key set', { staleForMs: ageMs, error: describeError(error) });
  },
});

/** The identity every route reads from requestContext.authorizer (API Gateway passes string/number/boolean values). */
export interface AuthorizerContext {
  readonly userId: string;
  readonly tokenExpiresAt: number;
  /** The token's `rooms` claim as JSON (domain/access.ts), absent when the token has none. */
  readonly rooms?: string;
  readonly [key: string]: string | number | undefined;
}

function policy(effect: 'Allow' | 'Deny', resource: string, context?: AuthorizerContext): APIGatewayAuthorizerResult {
  return {
    principalId: context?.userId ?? 'anonymous',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    ...(context ? { context } : {}),
  };
}

// Not traced by Powertools: Lambda's active tracing still records each invocation, and the X-Ray SDK would be
// most of the authorizer's bundle and cold start, on the path of every handshake (docs/performance.md).
export const handler = withLogsAndMetrics(async (event: APIGatewayRequestAuthorizerEvent) => {
  logger.appendKeys({ connectionId: event.requestContext?.connectionId, requestId: event.requestContext?.requestId });
  try {
    const decision = await authorize(verifier, event.queryStringParameters?.[TOKEN_QUERY_PARAMETER], canary);
    if (decision.effect === 'Allow') {
      logger.appendKeys({ userId: decision.userId });
      const { userId, tokenExpiresAt, roomScope } = decision;
      const rooms = roomScope === undefined ? {} : { rooms: encodeRoomScope(roomScope) };
      return policy('Allow', event.methodArn, { userId, tokenExpiresAt, ...rooms });
    }
    telemetry.count('ConnectAuthFailed');
    logger.warn('connection denied', { reason: decision.reason });
    return policy('Deny', event.methodArn);
  } catch (error) {
    if (error instanceof Unauthorized) {
      telemetry.count('ConnectAuthFailed');
      logger.warn('connection unauthorized', { reason: error.reason });
    }
    // API Gateway maps exactly this message to 401; any other failure becomes a 500.
    throw error;
  }
});
