/** `@connections` management API implementation of the ConnectionNotifier port. */
import { PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionNotifier, PostOutcome } from '../app/ports.ts';
import type { FanoutShard } from '../domain/fanout.ts';
import type { ServerFrame } from '../domain/protocol.ts';

export class ConnectionsApiNotifier implements ConnectionNotifier {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, frame: ServerFrame | FanoutShard['frame']): Promise<PostOutcome> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame)) }),
      );
      return 'delivered';
    } catch (error) {
      // The SDK names the error from the x-amzn-errortype header; a 410 has no other reliable marker.
      const name = (error as { name?: string }).name;
      if (name === 'GoneException') return 'gone';
      // The account's callback throttle: the caller backs off and retries (the SDK's own retries are spent).
      if (name === 'LimitExceededException') return 'throttled';
      throw error;
    }
  }
}
