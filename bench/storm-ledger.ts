/**
 * What a reconnect storm must not break, checked without I/O: every client delivered every acknowledged message
 * of its room exactly once, as the message its seq was acknowledged for, and nothing that was never acknowledged.
 */

/** One room's acknowledged messages: seq → message id, from the senders' acks. */
export type AckedMessages = ReadonlyMap<number, string>;

/** What one client's app was handed for its room (the client library's `message` events), in order. */
export interface ClientDeliveries {
  readonly client: string;
  readonly room: string;
  readonly delivered: readonly { readonly seq: number; readonly id: string }[];
}

export interface DeliveryAudit {
  /** Acknowledged messages a client never delivered. */
  readonly lost: number;
  /** Deliveries beyond the first of the same seq. */
  readonly duplicated: number;
  /** Deliveries of a seq acknowledged for another message, or never acknowledged at all. */
  readonly foreign: number;
  /** The first few violations, each naming its client, room and seq. */
  readonly examples: readonly string[];
}

const EXAMPLES = 10;

export function auditDeliveries(acked: ReadonlyMap<string, AckedMessages>, clients: readonly ClientDeliveries[]): DeliveryAudit {
  let lost = 0;
  let duplicated = 0;
  let foreign = 0;
  const examples: string[] = [];
  const note = (violation: string) => examples.length < EXAMPLES && examples.push(violation);
  for (const { client, room, delivered } of clients) {
    const expected = acked.get(room) ?? new Map<number, string>();
    const seen = new Set<number>();
    for (const { seq, id } of delivered) {
      if (seen.has(seq)) {
        duplicated++;
        note(`${client} delivered ${room} seq ${seq} again`);
        continue;
      }
      seen.add(seq);
      if (expected.get(seq) !== id) {
        foreign++;
        note(`${client} delivered ${room} seq ${seq} as ${id}, acknowledged as ${expected.get(seq) ?? 'nothing'}`);
      }
    }
    for (const seq of expected.keys()) {
      if (seen.has(seq)) continue;
      lost++;
      note(`${client} never delivered ${room} seq ${seq}`);
    }
  }
  return { lost, duplicated, foreign, examples };
}
