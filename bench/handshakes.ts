/**
 * Opens many WebSocket connections the way patient clients do: a few handshakes in flight at once, and a
 * handshake answered 429 (the plan's $connect route throttle, the account's new-connection quota) or 5xx (an
 * authorizer or $connect invocation that failed, e.g. a cold start timing out on a loaded machine) retried after
 * a pause.
 */
import WebSocket from 'ws';

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake answered ${status}`);
  }

  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

export function openSocket(url: string): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new HandshakeRefused(res.statusCode ?? 0)));
    ws.once('error', reject);
  });
}

export interface OpenOptions {
  /** Handshakes in flight at once. */
  readonly inFlight: number;
  /** Epoch ms after which opening gives up. */
  readonly deadline: number;
  readonly retryPauseMs: number;
}

export interface OpenedSockets {
  /** In the order of the URLs. */
  readonly sockets: WebSocket[];
  readonly seconds: number;
  /** Handshakes retried: answered 429, answered 5xx. */
  readonly throttled: number;
  readonly failed: number;
}

export async function openAll(urls: readonly string[], options: OpenOptions): Promise<OpenedSockets> {
  const sockets: WebSocket[] = new Array(urls.length);
  let opened = 0;
  let throttled = 0;
  let failed = 0;
  const started = performance.now();
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < urls.length) {
      const index = nextIndex++;
      for (;;) {
        if (Date.now() > options.deadline) throw new Error(`timed out with ${opened} of ${urls.length} connections open`);
        try {
          sockets[index] = await openSocket(urls[index] as string);
          opened++;
          break;
        } catch (error) {
          if (!(error instanceof HandshakeRefused && error.retryable)) throw error;
          if (error.status === 429) throttled++;
          else failed++;
          await new Promise((resolve) => setTimeout(resolve, options.retryPauseMs));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.inFlight, urls.length) }, worker));
  return { sockets, seconds: (performance.now() - started) / 1000, throttled, failed };
}

export async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) =>
      ws.readyState === WebSocket.CLOSED
        ? undefined
        : new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.terminate())),
    ),
  );
}
