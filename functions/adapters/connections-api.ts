/** `@connections` management API implementation of the ConnectionNotifier port. */
import { PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionNotifier, PostOutcome } from '../app/ports.ts';
import type { ServerFrame } from '../domain/protocol.ts';

export class ConnectionsApiNotifier implements ConnectionNotifier {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, frame: ServerFrame): Promise<PostOutcome> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame)) }),
      );
      return 'delivered';
    } catch (error) {
      // The SDK names the error from the x-amzn-errortype header; a 410 has no other reliable marker.
      if ((error as { name?: string }).name === 'GoneException') return 'gone';
      throw error;
    }
  }
}
