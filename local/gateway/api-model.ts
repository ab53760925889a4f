/** What the local gateway serves, read from the plan's API Gateway resources (never re-declared here). */
import { parseFunctionIdentifier, type FunctionTarget } from '../lambda/aliases.ts';
import type { StackPlan } from '../plan.ts';

/** The function (and the qualifier: alias or version) the authorizer's URI invokes. */
export interface Authorizer extends FunctionTarget {
  /** e.g. `route.request.querystring.token`: a missing source is a 401 before the function runs. */
  readonly identitySources: readonly string[];
}

/** A route and the function (with the qualifier: alias or version) its integration URI invokes. */
export interface Route extends FunctionTarget {
  readonly routeKey: string;
  readonly authorizer?: Authorizer;
}

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ApiModel {
  readonly apiId: string;
  readonly region: string;
  readonly stage: string;
  /** `$request.body.<path>`: which JSON field of a frame selects the route. */
  readonly routeSelectionPath: readonly string[];
  readonly routes: ReadonlyMap<string, Route>;
  readonly accessLogFormat?: string;
  /** The log group the stage writes its access log to (its destination ARN's name). */
  readonly accessLogGroupName?: string;
  /** The stage's default route throttle, applied to each route on its own (not shared between routes). */
  readonly throttle?: Throttle;
  /** Route settings that override the default throttle for one route. */
  readonly routeThrottles?: ReadonlyMap<string, Throttle>;
}

interface RouteSettings {
  route_key?: string;
  throttling_rate_limit?: number;
  throttling_burst_limit?: number;
}

function throttleOf(settings: RouteSettings | undefined, where: string): Throttle | undefined {
  if (settings?.throttling_rate_limit === undefined && settings?.throttling_burst_limit === undefined) return undefined;
  const rateLimit = Number(settings.throttling_rate_limit ?? 0);
  const burstLimit = Number(settings.throttling_burst_limit ?? 0);
  if (!(rateLimit >= 0) || !(burstLimit >= 0)) throw new Error(`${where}: throttling limits must be numbers >= 0`);
  return { rateLimit, burstLimit };
}

const INVOKE_URI = /^arn:aws:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The function an integration or authorizer URI invokes: a function's, alias's or version's invoke ARN. */
function targetOfUri(plan: StackPlan, uri: string): FunctionTarget {
  const resolved = plan.resolve(uri);
  const functionArn = INVOKE_URI.exec(resolved)?.[1];
  if (!functionArn) throw new Error(`${uri} does not invoke a Lambda function`);
  return parseFunctionIdentifier(functionArn);
}

export function readApiModel(plan: StackPlan): ApiModel {
  const api = plan.only('aws_apigatewayv2_api').config;
  if (api.protocol_type !== 'WEBSOCKET') throw new Error('the plan API is not a WebSocket API');
  const expression = String(api.route_selection_expression);
  const match = /^\$request\.body\.([A-Za-z0-9_.]+)$/.exec(expression);
  if (!match?.[1]) throw new Error(`route selection expression ${expression} is not supported locally`);

  const stage = plan.only('aws_apigatewayv2_stage').config;
  const routes = new Map<string, Route>();
  for (const { config } of plan.resources('aws_apigatewayv2_route')) {
    const integrationRef = String(config.target).replace(/^integrations\//, '');
    const integration = plan.byAddress(plan.referencedAddress(integrationRef)).config;
    if (integration.integration_type !== 'AWS_PROXY') {
      throw new Error(`route ${config.route_key}: only AWS_PROXY integrations run locally`);
    }
    let authorizer: Authorizer | undefined;
    if (config.authorization_type === 'CUSTOM') {
      const auth = plan.byAddress(plan.referencedAddress(String(config.authorizer_id))).config;
      authorizer = {
        ...targetOfUri(plan, String(auth.authorizer_uri)),
        identitySources: (auth.identity_sources as string[]) ?? [],
      };
    }
    const routeKey = String(config.route_key);
    routes.set(routeKey, { routeKey, ...targetOfUri(plan, String(integration.integration_uri)), authorizer });
  }
  const routeThrottles = new Map<string, Throttle>();
  for (const settings of (stage.route_settings ?? []) as RouteSettings[]) {
    const routeKey = String(settings.route_key);
    if (!routes.has(routeKey)) throw new Error(`stage route_settings name route ${routeKey}, which the plan does not define`);
    const throttle = throttleOf(settings, `route_settings ${routeKey}`);
    if (throttle) routeThrottles.set(routeKey, throttle);
  }
  const accessLogs = stage.access_log_settings as { format?: string; destination_arn?: string } | undefined;
  const destination = accessLogs?.destination_arn === undefined ? undefined : plan.resolve(accessLogs.destination_arn);
  return {
    apiId: plan.apiId,
    region: plan.region,
    stage: String(stage.name),
    routeSelectionPath: match[1].split('.'),
    routes,
    accessLogFormat: accessLogs?.format,
    accessLogGroupName: destination === undefined ? undefined : /:log-group:([^:]+)/.exec(destination)?.[1],
    throttle: throttleOf(stage.default_route_settings as RouteSettings | undefined, 'default_route_settings'),
    routeThrottles,
  };
}
