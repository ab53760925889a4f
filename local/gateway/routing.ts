/** Which function a frame goes to, and what a Lambda proxy integration's answer means to the gateway. */
import type { FunctionTarget } from '../lambda/aliases.ts';
import type { InvokeResult } from '../lambda/function-pool.ts';
import type { ApiModel, Route } from './api-model.ts';

/** Invokes a function as its integration URI names it (alias or version included). */
export type Invoke = (target: FunctionTarget, event: unknown) => Promise<InvokeResult>;

/** API Gateway's own metrics (AWS/ApiGateway, per API and stage). */
export type ApiMetric = 'ConnectCount' | 'MessageCount' | 'IntegrationError' | 'ClientError' | 'ExecutionError' | 'IntegrationLatency';
export type RecordMetric = (name: ApiMetric, value: number) => void;

/**
 * The route the stage's selection expression picks for a frame: binary frames, frames that are not JSON and
 * keys that are unknown or reserved (`$…`) go to `$default`; undefined when there is none.
 */
export function selectRoute(api: ApiModel, body: string, isBinary: boolean): Route | undefined {
  if (isBinary) return api.routes.get('$default');
  let selected: unknown;
  try {
    selected = api.routeSelectionPath.reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined),
      JSON.parse(body),
    );
  } catch {
    selected = undefined;
  }
  const routeKey = typeof selected === 'string' && !selected.startsWith('$') ? selected : undefined;
  return (routeKey && api.routes.get(routeKey)) || api.routes.get('$default');
}

/** The status API Gateway derives from a Lambda proxy integration: its statusCode, or 500 when it failed. */
export function integrationStatus(result: InvokeResult): number {
  if (result.status !== 'ok') return 500;
  const statusCode = (result.payload as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : 200;
}

export interface Integration {
  readonly result: InvokeResult;
  readonly status: number;
  readonly latencyMs: number;
}

/** Runs a route's function and records the integration metrics API Gateway does. */
export async function integrate(invoke: Invoke, metric: RecordMetric, target: FunctionTarget, event: unknown): Promise<Integration> {
  const started = Date.now();
  const result = await invoke(target, event);
  const latencyMs = Date.now() - started;
  metric('IntegrationLatency', latencyMs);
  // A throttled function is API Gateway's execution failure; any other failure is the integration's.
  if (result.status === 'throttled') metric('ExecutionError', 1);
  else if (result.status !== 'ok') metric('IntegrationError', 1);
  return { result, status: integrationStatus(result), latencyMs };
}
