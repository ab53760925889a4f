/** One open WebSocket connection as the gateway keeps it, and how frames reach its client. */
import { isUtf8 } from 'node:buffer';
import type { WebSocket } from 'ws';
import type { ConnectionInfo } from './events.ts';
import { FrameSizeGuard, LIMITS } from './limits.ts';

/** A class, so every connection shares one object shape. */
export class Connection implements ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly domainName: string;
  readonly authorizer?: Record<string, string | number | boolean>;
  lastActiveAt: number;
  /** When the handshake completed: the maximum duration counts from here, as the client sees it. */
  readonly openedAt: number;
  /** The client's frames, each held to API Gateway's 32 KB. */
  readonly frames = new FrameSizeGuard(LIMITS.frameBytes);

  constructor(
    info: ConnectionInfo,
    readonly ws: WebSocket,
    /** The gateway's clock: the idle timeout and maximum duration are measured on it. */
    private readonly clock: () => number,
  ) {
    this.connectionId = info.connectionId;
    this.connectedAt = info.connectedAt;
    this.sourceIp = info.sourceIp;
    this.userAgent = info.userAgent;
    this.domainName = info.domainName;
    this.authorizer = info.authorizer;
    this.openedAt = clock();
    this.lastActiveAt = this.openedAt;
  }

  /** A frame of the gateway's own (an error the client's request met). */
  send(payload: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(payload);
    this.lastActiveAt = this.clock();
  }

  /** A @connections post: its bytes go out as a text frame, as they came (invalid UTF-8 is replaced). */
  post(data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // Valid UTF-8 is sent as it is, instead of being decoded into a string that ws encodes again.
    if (isUtf8(data)) this.ws.send(data, { binary: false });
    else this.ws.send(data.toString('utf8'));
    this.lastActiveAt = this.clock();
  }
}

/** The `disconnectReason` API Gateway reports when the close frame carried none. */
export function closeReason(code: number): string {
  if (code === 1009) return 'Message too big';
  if (code === 1001) return 'Going away';
  if (code === 1006) return 'Connection closed abnormally';
  return 'Client closed';
}
