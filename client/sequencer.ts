/**
 * Per-room delivery order: messages reach the app once each, in seq order, whatever order frames arrive in.
 * Pure bookkeeping (no I/O): the client feeds it message frames and history pages and asks what is missing.
 */
import type { MessageView } from '../functions/domain/protocol.ts';

export class RoomSequencer {
  private delivered: number | undefined;
  private readonly waiting = new Map<number, MessageView>();
  /** The highest seq known to exist in the room (from joined, acks, messages). */
  private newest = 0;

  /** The last seq handed to the app; undefined until the starting point is known. */
  get lastDelivered(): number | undefined {
    return this.delivered;
  }

  /** Sets the starting point once: delivery begins after `afterSeq`. Returns what became deliverable. */
  start(afterSeq: number): MessageView[] {
    if (this.delivered !== undefined) return [];
    this.delivered = afterSeq;
    for (const seq of [...this.waiting.keys()]) if (seq <= afterSeq) this.waiting.delete(seq);
    return this.drain();
  }

  /** Records that `seq` exists (an ack, or a joined frame's lastSeq) even if its message has not arrived. */
  knowsOf(seq: number): void {
    this.newest = Math.max(this.newest, seq);
  }

  /** Takes messages in any order and with duplicates; returns those now deliverable, in order. */
  accept(messages: readonly MessageView[]): MessageView[] {
    for (const message of messages) {
      this.knowsOf(message.seq);
      if (this.delivered !== undefined && message.seq <= this.delivered) continue;
      this.waiting.set(message.seq, message);
    }
    return this.drain();
  }

  /**
   * Records that every seq up to `seq` the room still has was accepted (an ascending history page complete through
   * it): the others were expired or erased and are skipped, never waited for. Returns what became deliverable.
   */
  completeThrough(seq: number): MessageView[] {
    this.knowsOf(seq);
    if (this.delivered === undefined) return [];
    const ready: MessageView[] = [];
    for (; this.delivered < seq; this.delivered++) {
      const next = this.waiting.get(this.delivered + 1);
      if (!next) continue;
      this.waiting.delete(next.seq);
      ready.push(next);
    }
    return [...ready, ...this.drain()];
  }

  /** Whether messages exist that have not been delivered: fetch history after lastDelivered. */
  isBehind(): boolean {
    return this.delivered !== undefined && this.newest > this.delivered;
  }

  private drain(): MessageView[] {
    const ready: MessageView[] = [];
    if (this.delivered === undefined) return ready;
    for (let next = this.waiting.get(this.delivered + 1); next; next = this.waiting.get(this.delivered + 1)) {
      this.waiting.delete(next.seq);
      this.delivered = next.seq;
      ready.push(next);
    }
    return ready;
  }
}
