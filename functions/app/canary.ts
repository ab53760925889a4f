/**
 * The synthetic chat user: what a client does, one step after another, each timed. It never throws: a failed
 * step ends the run with that step named, and the handler publishes the outcome (dashboards/metrics.ts Canary*).
 */
import type { ServerFrame } from '../domain/protocol.ts';
import type { ClientSocket, ClientSocketOpener, TokenSource } from './ports.ts';

export const CANARY_STEPS = ['token', 'connect', 'join', 'ack', 'delivery', 'history', 'disconnect'] as const;
export type CanaryStep = (typeof CANARY_STEPS)[number];

export interface CanarySettings {
  /** The stage's wss:// URL, as clients connect to it. */
  readonly url: string;
  /** The one room the canary's identity may enter (the authorizer confines it there). */
  readonly room: string;
  /** How long each step may take before the run fails. */
  readonly stepTimeoutMs: number;
  /** Unique per run: the send's clientMsgId, and in the text, so the canary recognises its own message. */
  readonly runId: string;
}

export interface CanaryPorts {
  readonly tokens: TokenSource;
  readonly sockets: ClientSocketOpener;
  /** A monotonic clock in milliseconds (latencies only). */
  readonly now: () => number;
}

export type CanaryResult =
  | { readonly ok: true; readonly latencyMs: Readonly<Record<CanaryStep, number>> }
  | { readonly ok: false; readonly failedStep: CanaryStep; readonly reason: string; readonly latencyMs: Readonly<Partial<Record<CanaryStep, number>>> };

export class CanaryStepFailed extends Error {}

/** A failure and the step it ended the run in. */
class FailedIn extends Error {
  constructor(
    readonly step: CanaryStep,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * API Gateway's own answer to a request that did not reach its function or failed in it ("Internal server error",
 * "Forbidden", "Too Many Requests", docs/protocol.md): a frame with a message and no `type`, and no clientMsgId either.
 */
function gatewayFailure(frame: unknown): CanaryStepFailed | undefined {
  if (typeof frame !== 'object' || frame === null || 'type' in frame || !('message' in frame) || typeof frame.message !== 'string') return undefined;
  const requestId = 'requestId' in frame && typeof frame.requestId === 'string' ? ` (request ${frame.requestId})` : '';
  return new CanaryStepFailed(`API Gateway answered "${frame.message}"${requestId}`);
}

/**
 * Frames received on the connection, kept until a step takes them: the ack and the message of one send may
 * arrive in either order, and a step may start after its frame arrived.
 */
export class FrameInbox {
  private readonly frames: ServerFrame[] = [];
  private readonly waiters: { pick: (frame: ServerFrame) => boolean; resolve: (frame: ServerFrame) => void; reject: (error: Error) => void }[] = [];
  private closedCode?: number;
  /** A gateway failure no step was waiting for: the canary sends one request at a time, so it is the next step's. */
  private unclaimedGatewayFailure?: CanaryStepFailed;

  receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return this.failAll(new CanaryStepFailed(`the server sent a frame that is not JSON: ${text.slice(0, 80)}`));
    }
    // It names no request the canary can match, and every waiting step hangs on the request it answers.
    const gateway = gatewayFailure(frame);
    if (gateway) {
      if (this.waiters.length) this.failAll(gateway);
      else this.unclaimedGatewayFailure = gateway;
      return;
    }
    const waiter = this.waiters.find((w) => w.pick(frame));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(frame);
    } else {
      this.frames.push(frame);
    }
  }

  closed(code: number): void {
    this.closedCode = code;
    this.failAll(new CanaryStepFailed(`the connection closed (${code})`));
  }

  /** The first frame `pick` accepts, received or to come; an error frame about this step fails it. */
  take(pick: (frame: ServerFrame) => boolean, isMine: (frame: Extract<ServerFrame, { type: 'error' }>) => boolean, timeoutMs: number): Promise<ServerFrame> {
    const accepts = (frame: ServerFrame) => pick(frame) || (frame.type === 'error' && isMine(frame));
    const index = this.frames.findIndex(accepts);
    const settle = (frame: ServerFrame) => {
      if (frame.type === 'error') throw new CanaryStepFailed(`error ${frame.code}: ${frame.message}`);
      return frame;
    };
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0] as ServerFrame).then(settle);
    if (this.closedCode !== undefined) return Promise.reject(new CanaryStepFailed(`the connection closed (${this.closedCode})`));
    const unclaimed = this.unclaimedGatewayFailure;
    if (unclaimed) {
      this.unclaimedGatewayFailure = undefined;
      return Promise.reject(unclaimed);
    }
    return new Promise<ServerFrame>((resolve, reject) => {
      const waiter = {
        pick: accepts,
        resolve: (frame: ServerFrame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new CanaryStepFailed(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    }).then(settle);
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CanaryStepFailed(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Obtains a token, connects, joins its room, sends, receives the ack and its own message, reads it back from history, disconnects. */
export async function runCanary(ports: CanaryPorts, settings: CanarySettings): Promise<CanaryResult> {
  const latencyMs: Partial<Record<CanaryStep, number>> = {};
  const { room, stepTimeoutMs: timeoutMs, runId } = settings;
  let socket: ClientSocket | undefined;
  const timed = async <T>(step: CanaryStep, work: () => Promise<T>, started = ports.now()): Promise<T> => {
    try {
      const value = await work();
      latencyMs[step] = ports.now() - started;
      return value;
    } catch (error) {
      throw error instanceof FailedIn ? error : new FailedIn(step, error);
    }
  };
  try {
    const token = await timed('token', () => withTimeout(ports.tokens.token(), timeoutMs));
    const inbox = new FrameInbox();
    const url = `${settings.url}${settings.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    socket = await timed('connect', () => ports.sockets.open(url, { frame: (text) => inbox.receive(text), closed: (code) => inbox.closed(code) }, timeoutMs));
    const open = socket;
    const anyError = () => true;
    await timed('join', () => {
      open.send({ action: 'join', room });
      return inbox.take((f) => f.type === 'joined' && f.room === room, anyError, timeoutMs);
    });

    const text = `canary ${runId}`;
    const sentAt = ports.now();
    try {
      open.send({ action: 'send', room, text, clientMsgId: runId });
    } catch (error) {
      throw new FailedIn('ack', error);
    }
    const ack = inbox.take((f) => f.type === 'ack' && f.clientMsgId === runId, (e) => e.clientMsgId === runId, timeoutMs);
    const delivery = inbox.take((f) => f.type === 'message' && f.room === room && f.text === text, () => false, timeoutMs);
    // Both are awaited, so neither rejects unobserved when the other fails first.
    const [acked] = await Promise.all([timed('ack', () => ack, sentAt), timed('delivery', () => delivery, sentAt)]);
    if (acked.type !== 'ack') throw new FailedIn('ack', `expected an ack, got ${acked.type}`);
    await timed('history', async () => {
      open.send({ action: 'history', room, afterSeq: acked.seq - 1, limit: 1 });
      const page = await inbox.take((f) => f.type === 'history' && f.room === room, anyError, timeoutMs);
      if (page.type !== 'history' || !page.messages.some((m) => m.id === acked.id)) {
        throw new CanaryStepFailed(`history after seq ${acked.seq - 1} does not hold message ${acked.id}`);
      }
    });
    socket = undefined;
    await timed('disconnect', () => withTimeout(open.close(), timeoutMs));
    return { ok: true, latencyMs: latencyMs as Record<CanaryStep, number> };
  } catch (error) {
    // The run has failed already: closing is best effort, so its own failure cannot hide the step's.
    void socket?.close().catch(() => undefined);
    const failed = error instanceof FailedIn ? error : new FailedIn('token', error);
    return { ok: false, failedStep: failed.step, reason: failed.message, latencyMs };
  }
}
