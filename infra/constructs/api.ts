import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api/index.js';
import { Apigatewayv2Authorizer } from '@cdktf/provider-aws/lib/apigatewayv2-authorizer/index.js';
import { Apigatewayv2Deployment } from '@cdktf/provider-aws/lib/apigatewayv2-deployment/index.js';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration/index.js';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route/index.js';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import type { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias/index.js';
import { Fn, TerraformOutput, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { ROUTE_SELECTION_EXPRESSION, ROUTES, TOKEN_QUERY_PARAMETER, type FunctionName } from '../../functions/catalog/functions.ts';
import { resourceName, type StageConfig } from '../config/stages.ts';
import type { ConnectionsTarget } from './functions.ts';

/**
 * Access log line per request, in JSON so Logs Insights can query its fields. Only variables API Gateway documents
 * for WebSocket APIs: any other one makes it refuse the stage (test/apply-rules/access-log.test.ts).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  routeKey: '$context.routeKey',
  eventType: '$context.eventType',
  status: '$context.status',
  // Lambda's answer to the invoke (429 when throttled), then the status the function itself returned.
  integrationStatus: '$context.integration.integrationStatus',
  functionStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  requestTimeEpoch: '$context.requestTimeEpoch',
});

export interface ChatApiProps {
  readonly stage: StageConfig;
  /** Customer-managed KMS key for the access log group; without one, CloudWatch Logs encrypts with its own key. */
  readonly logsKmsKeyArn?: string;
  /** The account's API Gateway logging role, when this stack manages it: stage access logs need it first. */
  readonly accountLogging?: ITerraformDependable;
  /**
   * The custom domain's host name, when one serves the API: the execute-api endpoint is then disabled, so clients
   * cannot bypass the domain, and functions call `@connections` on the host name instead.
   */
  readonly customDomainHost?: string;
}

/** The WebSocket API of one stage. Routes come from the route table; `connectRoutes` wires them to functions. */
export class ChatApi extends Construct {
  readonly api: Apigatewayv2Api;
  readonly connections: ConnectionsTarget;
  readonly accessLogGroupName: string;

  constructor(scope: Construct, id: string, private readonly props: ChatApiProps) {
    super(scope, id);
    const { stage, customDomainHost } = props;
    this.api = new Apigatewayv2Api(this, 'api', {
      name: resourceName(stage, 'ws'),
      protocolType: 'WEBSOCKET',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      disableExecuteApiEndpoint: customDomainHost !== undefined,
    });
    this.accessLogGroupName = `/aws/apigateway/${resourceName(stage, 'ws')}`;
    this.connections = {
      // The domain maps its root to the stage, so its @connections URL carries no stage path.
      endpoint: customDomainHost ? `https://${customDomainHost}` : `https://${this.api.id}.execute-api.${stage.region}.amazonaws.com/${stage.name}`,
      postArn: `${this.api.executionArn}/${stage.name}/POST/@connections/*`,
      deleteArn: `${this.api.executionArn}/${stage.name}/DELETE/@connections/*`,
      getArn: `${this.api.executionArn}/${stage.name}/GET/@connections/*`,
    };
  }

  /**
   * Routes, integrations, the authorizer and the deployed stage; returns the stage. API Gateway invokes each
   * function's `live` alias, and may invoke only that (the permissions name it as their qualifier).
   */
  connectRoutes(aliases: Record<FunctionName, LambdaAlias>): Apigatewayv2Stage {
    const { api } = this;
    const { stage, logsKmsKeyArn, accountLogging } = this.props;
    const authorizer = new Apigatewayv2Authorizer(this, 'authorizer', {
      apiId: api.id,
      name: resourceName(stage, 'jwt'),
      authorizerType: 'REQUEST',
      authorizerUri: aliases.authorizer.invokeArn,
      identitySources: [`route.request.querystring.${TOKEN_QUERY_PARAMETER}`],
    });
    new LambdaPermission(this, 'authorizer-permission', {
      statementId: 'AllowApiGatewayAuthorizer',
      action: 'lambda:InvokeFunction',
      functionName: aliases.authorizer.functionName,
      qualifier: aliases.authorizer.name,
      principal: 'apigateway.amazonaws.com',
      sourceArn: `${api.executionArn}/authorizers/${authorizer.id}`,
    });

    const routes = ROUTES.map(({ routeKey, function: name }) => {
      const id = routeKey.replace('$', '');
      const integration = new Apigatewayv2Integration(this, `${id}-integration`, {
        apiId: api.id,
        integrationType: 'AWS_PROXY',
        integrationUri: aliases[name].invokeArn,
      });
      new LambdaPermission(this, `${id}-permission`, {
        statementId: 'AllowApiGatewayRoute',
        action: 'lambda:InvokeFunction',
        functionName: aliases[name].functionName,
        qualifier: aliases[name].name,
        principal: 'apigateway.amazonaws.com',
        sourceArn: `${api.executionArn}/${stage.name}/${routeKey}`,
      });
      return new Apigatewayv2Route(this, `${id}-route`, {
        apiId: api.id,
        routeKey,
        target: `integrations/${integration.id}`,
        ...(routeKey === '$connect' ? { authorizationType: 'CUSTOM', authorizerId: authorizer.id } : {}),
      });
    });

    // A new deployment whenever a route or its target changes, or the execute-api endpoint is turned on or off
    // (that takes effect only when deployed); the stage then points at it.
    const deployment = new Apigatewayv2Deployment(this, 'deployment', {
      apiId: api.id,
      triggers: {
        redeployment: Fn.sha1(Fn.jsonencode([api.disableExecuteApiEndpoint, ...routes.map((r) => [r.routeKey, r.target, r.authorizerId])])),
      },
      lifecycle: { createBeforeDestroy: true },
      dependsOn: routes,
    });
    const accessLogs = new CloudwatchLogGroup(this, 'access-logs', {
      name: this.accessLogGroupName,
      retentionInDays: stage.logRetentionDays,
      kmsKeyId: logsKmsKeyArn,
    });
    const { throttle } = stage;
    const apiStage = new Apigatewayv2Stage(this, 'stage', {
      apiId: api.id,
      name: stage.name,
      deploymentId: deployment.id,
      defaultRouteSettings: {
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        detailedMetricsEnabled: stage.detailedMetrics,
      },
      // In route table order, so the plan reads like the route table.
      routeSettings: ROUTES.flatMap(({ routeKey }) => {
        const limits = throttle.routes?.[routeKey];
        return limits
          ? [
              {
                routeKey,
                throttlingRateLimit: limits.rateLimit,
                throttlingBurstLimit: limits.burstLimit,
                // Left unset, the provider sends false for the route: repeat the stage's metrics choice.
                detailedMetricsEnabled: stage.detailedMetrics,
              },
            ]
          : [];
      }),
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
      dependsOn: accountLogging ? [accountLogging] : undefined,
    });

    new TerraformOutput(this, 'websocket_url', {
      value: apiStage.invokeUrl,
      description: 'wss:// URL clients connect to (append ?token=<JWT>)',
    }).overrideLogicalId('websocket_url');
    new TerraformOutput(this, 'connections_endpoint', {
      value: this.connections.endpoint,
      description: 'https:// endpoint of the @connections management API',
    }).overrideLogicalId('connections_endpoint');
    return apiStage;
  }
}
