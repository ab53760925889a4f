/** The rate and size limits API Gateway enforces on a WebSocket stage, as small pieces the gateway composes. */
import type { ApiModel } from './api-model.ts';

/** API Gateway's WebSocket quotas (none of these can be raised). */
export const LIMITS = {
  frameBytes: 32 * 1024,
  messageBytes: 128 * 1024,
  idleMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
};

/** Per-account, per-Region quotas (raisable on AWS, so a stack may be booted with others). */
export interface AccountQuotas {
  readonly newConnectionsPerSecond: number;
  /** Shared by every route of every API of the account and by `@connections` callbacks. */
  readonly requestsPerSecond: number;
  readonly requestsBurst: number;
}

export const DEFAULT_ACCOUNT_QUOTAS: AccountQuotas = { newConnectionsPerSecond: 500, requestsPerSecond: 10_000, requestsBurst: 5_000 };

/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; a request takes one or is throttled.
 * This is the algorithm API Gateway documents for its stage, route and account throttles.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSecond >= 0) || !(burst >= 0)) throw new Error(`a throttle needs a rate and burst >= 0, got ${ratePerSecond}/${burst}`);
    this.tokens = burst;
    this.refilledAt = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.ratePerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Watches the raw bytes of a WebSocket connection and reports the first frame whose payload exceeds `limit`.
 * ws's `maxPayload` bounds a whole (possibly fragmented) message, so it enforces the 128 KB message limit; API
 * Gateway also bounds every single frame to 32 KB, which only the frame headers on the wire show. Frames from a
 * client are never compressed here (the gateway, like API Gateway, offers no permessage-deflate), so the header
 * length is the payload size. One guard per open connection: its state is numbers only (no header buffer, no
 * callback), so an idle connection costs one small object.
 */
export class FrameSizeGuard {
  /** Header bytes read of the current frame, and how many it has (2 to 14, known from its second byte). */
  private headerRead = 0;
  private headerBytes = 2;
  /** Where the extended payload length ends in the header (2 when there is none). */
  private lengthEnd = 2;
  private payloadLength = 0;
  private payloadLeft = 0;
  private tripped = false;

  constructor(private readonly limit: number) {}

  get exceeded(): boolean {
    return this.tripped;
  }

  /** True when this chunk holds the header of the first frame over the limit (later chunks are not read). */
  push(chunk: Buffer): boolean {
    let offset = 0;
    while (offset < chunk.length && !this.tripped) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      const byte = chunk[offset] as number;
      offset++;
      this.headerRead++;
      if (this.headerRead === 2) {
        const length7 = byte & 0x7f;
        this.lengthEnd = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0);
        this.headerBytes = this.lengthEnd + ((byte & 0x80) !== 0 ? 4 : 0);
        this.payloadLength = this.lengthEnd === 2 ? length7 : 0;
      } else if (this.headerRead > 2 && this.headerRead <= this.lengthEnd) {
        // Big-endian; past 2^53 (a 64-bit length) it is approximate, and far over any limit either way.
        this.payloadLength = this.payloadLength * 256 + byte;
      }
      if (this.headerRead < this.headerBytes) continue;
      this.headerRead = 0;
      this.headerBytes = 2;
      if (this.payloadLength > this.limit) {
        this.tripped = true;
        return true;
      }
      this.payloadLeft = this.payloadLength;
    }
    return false;
  }
}

/** The stage's route throttles and the account's quotas, checked in the order API Gateway checks them. */
export class StageThrottles {
  private readonly newConnections: TokenBucket;
  private readonly accountRequests: TokenBucket;
  private readonly routeBuckets = new Map<string, TokenBucket>();
  private readonly hasConnectRoute: boolean;

  constructor(api: ApiModel, quotas: AccountQuotas, clock: () => number = Date.now) {
    this.newConnections = new TokenBucket(quotas.newConnectionsPerSecond, quotas.newConnectionsPerSecond, clock);
    this.accountRequests = new TokenBucket(quotas.requestsPerSecond, quotas.requestsBurst, clock);
    for (const routeKey of api.routes.keys()) {
      const throttle = api.routeThrottles?.get(routeKey) ?? api.throttle;
      if (throttle) this.routeBuckets.set(routeKey, new TokenBucket(throttle.rateLimit, throttle.burstLimit, clock));
    }
    this.hasConnectRoute = api.routes.has('$connect');
  }

  /** The account's new-connection rate, then the `$connect` route's own throttle. */
  admitConnection(): boolean {
    return this.newConnections.take() && (!this.hasConnectRoute || this.admitRequest('$connect'));
  }

  /** Takes a token from the route's throttle and the account's; false when either is empty. */
  admitRequest(routeKey: string): boolean {
    const route = this.routeBuckets.get(routeKey);
    return (route ? route.take() : true) && this.accountRequests.take();
  }

  /** A `@connections` callback counts against the account's requests only. */
  admitCallback(): boolean {
    return this.accountRequests.take();
  }
}
