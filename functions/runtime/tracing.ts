/** The Powertools tracer every traced handler shares (all but the authorizer's: docs/performance.md). */
import type { MiddlewareObj } from '@middy/core';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context } from 'aws-lambda';
import { ENV } from '../catalog/env.ts';
import { serviceName, withLogsAndMetrics } from './observability.ts';

export const tracer = new Tracer({ serviceName });

/** Every trace says which stage it is from: the X-Ray group of a stage's problem traces selects by it. */
const stageAnnotation: MiddlewareObj = { before: () => tracer.putAnnotation('stage', process.env[ENV.stage] ?? 'unknown') };

/** Every handler runs traced, with the invocation's context in its logs and its metrics flushed at the end. */
export function withPowertools<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return withLogsAndMetrics(handler, [captureLambdaHandler(tracer) as MiddlewareObj<E, R>, stageAnnotation as MiddlewareObj<E, R>]);
}
