/** The fan-out dispatcher (Lambda asynchronous invoke), for the functions that broadcast; imported only by them. */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaFanoutDispatcher } from '../adapters/lambda-dispatcher.ts';
import type { FanoutDispatcher } from '../app/ports.ts';
import { tracer } from './tracing.ts';

export function lambdaDispatcher(functionName: string): FanoutDispatcher {
  return new LambdaFanoutDispatcher(tracer.captureAWSv3Client(new LambdaClient({})), functionName);
}
