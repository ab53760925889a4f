/**
 * `npm run redrive -- --queue-url <url> --function <name> [--max N] [--dry-run]`: re-invokes the fan-out
 * function with the shards in its dead-letter queue (see ops/redrive-fanout.ts). It uses the AWS SDK's usual
 * credentials and Region; against the local stack, set AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_LAMBDA to the
 * endpoints `npm start` prints.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { redriveFanoutDeadLetters } from './redrive-fanout.ts';

const { values } = parseArgs({
  options: {
    'queue-url': { type: 'string' },
    function: { type: 'string' },
    max: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const queueUrl = values['queue-url'];
const functionName = values.function;
const max = values.max === undefined ? undefined : Number(values.max);
if (!queueUrl || !functionName || (max !== undefined && !(Number.isInteger(max) && max > 0))) {
  console.error('usage: npm run redrive -- --queue-url <dead-letter queue URL> --function <fan-out function name> [--max N] [--dry-run]');
  console.error('  (terraform output: fanout_dead_letter_queue_url and fanout_function_name)');
  process.exit(2);
}
const result = await redriveFanoutDeadLetters({
  sqs: new SQSClient({ ...(process.env.AWS_ENDPOINT_URL_SQS ? { endpoint: process.env.AWS_ENDPOINT_URL_SQS } : {}) }),
  lambda: new LambdaClient({}),
  queueUrl,
  functionName,
  max,
  dryRun: values['dry-run'],
});
console.log(`${values['dry-run'] ? 'would redrive' : 'redriven'}: ${result.redriven}`);
for (const s of result.skipped) console.log(`left in the queue: ${s.messageId}: ${s.reason}`);
