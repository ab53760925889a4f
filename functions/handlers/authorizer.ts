import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorize, Unauthorized } from '../app/authorize.ts';
import { JwksTokenVerifier } from '../adapters/jwt-verifier.ts';
import { ENV, requireEnv } from '../catalog/env.ts';
import { TOKEN_QUERY_PARAMETER } from '../catalog/functions.ts';
import { logger, telemetry } from '../runtime/observability.ts';
import { withPowertools } from '../runtime/ws-handler.ts';

const verifier = new JwksTokenVerifier({
  issuer: requireEnv(ENV.jwtIssuer),
  audience: requireEnv(ENV.jwtAudience),
  jwksUrl: requireEnv(ENV.jwksUrl),
});

function policy(effect: 'Allow' | 'Deny', resource: string, userId?: string): APIGatewayAuthorizerResult {
  return {
    principalId: userId ?? 'anonymous',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    ...(userId ? { context: { userId } } : {}),
  };
}

export const handler = withPowertools(async (event: APIGatewayRequestAuthorizerEvent) => {
  logger.appendKeys({ connectionId: event.requestContext?.connectionId, requestId: event.requestContext?.requestId });
  try {
    const decision = await authorize(verifier, event.queryStringParameters?.[TOKEN_QUERY_PARAMETER]);
    if (decision.effect === 'Allow') {
      logger.appendKeys({ userId: decision.userId });
      return policy('Allow', event.methodArn, decision.userId);
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
