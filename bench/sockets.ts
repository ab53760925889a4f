import WebSocket from 'ws';

/**
 * Ends every client socket and resolves when all are closed. A socket the server already closed (the gateway's
 * 10-minute idle timeout during a slow round) has had its close event and is not waited for: it would never come.
 */
export async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) =>
      ws.readyState === WebSocket.CLOSED ? undefined : new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.terminate())),
    ),
  );
}
