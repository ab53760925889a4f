/** Lambda asynchronous invocation implementation of the FanoutDispatcher port. */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { FanoutDispatcher } from '../app/ports.ts';
import type { FanoutShard } from '../domain/fanout.ts';

export class LambdaFanoutDispatcher implements FanoutDispatcher {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async dispatch(shard: FanoutShard): Promise<void> {
    // InvocationType Event: Lambda queues the shard (202), retries it and sends it to the on-failure destination.
    const result = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(shard)),
      }),
    );
    if (result.StatusCode !== 202) throw new Error(`Lambda answered ${result.StatusCode} to an asynchronous invoke of ${this.functionName}`);
  }
}
