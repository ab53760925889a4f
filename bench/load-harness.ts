/**
 * The load scenario: many clients in rooms of uneven size send with clientMsgIds at random times, retry
 * retryable errors under the same clientMsgId, and every frame is recorded; then the run is verified: every
 * acknowledged message reached every member exactly once and is in the history, seqs are contiguous, and
 * nothing unacknowledged appears anywhere.
 */
import WebSocket from 'ws';
import { open } from '../local/drills.ts';
import { percentile } from './statistics.ts';

export interface LoadOptions {
  readonly url: string;
  readonly tokenFor: (user: string) => Promise<string>;
  readonly clients: number;
  readonly rooms: number;
  /** Members of the one big room; the other clients are spread over the remaining rooms. */
  readonly bigRoomMembers: number;
  readonly sends: number;
  /** Share of sends that go to the big room (each costs bigRoomMembers deliveries). */
  readonly bigRoomShare: number;
  /** Sends start spread over this many ms. */
  readonly spreadMs: number;
  /** How long a client keeps retrying one send (retryable errors, timeouts) before giving up. */
  readonly retryForMs?: number;
  /** Called once clients are connected and joined, before the sends start (fault injection hooks here). */
  readonly onReady?: () => void | Promise<void>;
  /**
   * Called every 250 ms after the sends started (`elapsedMs` since then), until the run is over, with what the
   * clients have seen so far: a fault can be cleared once its effect was observed instead of after a fixed time.
   */
  readonly onTick?: (elapsedMs: number, progress: LoadProgress) => void;
}

export interface LoadProgress {
  readonly acked: number;
  /** Error frames received so far, by code. */
  readonly errorFrames: Readonly<Record<string, number>>;
}

type Frame = Record<string, unknown> & { type?: string };

interface Client {
  readonly user: string;
  readonly ws: WebSocket;
  readonly room: string;
  /** room → seq → times a message frame with that seq arrived */
  readonly received: Map<string, Map<number, { id: string; count: number }>>;
  readonly pending: Map<string, (frame: Frame) => void>;
}

export interface LoadReport {
  readonly clients: number;
  readonly sends: number;
  readonly acked: number;
  readonly gaveUp: number;
  readonly durationMs: number;
  readonly sendsPerSecond: number;
  readonly ackLatencyMs: { p50: number; p99: number };
  readonly deliveryLatencyMs: { p50: number; p99: number };
  readonly deliveries: number;
  readonly errorFrames: Record<string, number>;
  readonly violations: readonly string[];
}

/** Opens a connection the way a real client does: a 5xx or 429 handshake is retried with backoff. */
async function connect(url: string): Promise<WebSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(url);
    } catch (error) {
      if (attempt >= 6 || !/handshake (5\d\d|429)/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

export function roomOf(index: number, options: Pick<LoadOptions, 'rooms' | 'bigRoomMembers'>): string {
  if (index < options.bigRoomMembers) return 'big';
  return `small-${(index - options.bigRoomMembers) % (options.rooms - 1)}`;
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const retryForMs = options.retryForMs ?? 90_000;
  const errorFrames: Record<string, number> = {};
  const sentAt = new Map<string, number>();
  const deliveryLatencies: number[] = [];
  const clients: Client[] = [];

  // Connect and join in batches: handshakes cold-start functions, and a 2-core machine should not get 1,000 at once.
  for (let batch = 0; batch < options.clients; batch += 10) {
    const created = await Promise.all(
      Array.from({ length: Math.min(10, options.clients - batch) }, async (_, offset) => {
        const index = batch + offset;
        const user = `load-${index}`;
        const ws = await connect(`${options.url}?token=${await options.tokenFor(user)}`);
        const client: Client = { user, ws, room: roomOf(index, options), received: new Map(), pending: new Map() };
        ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as Frame;
          if (frame.type === 'message') {
            const room = String(frame.room);
            const seqs = client.received.get(room) ?? new Map<number, { id: string; count: number }>();
            client.received.set(room, seqs);
            const entry = seqs.get(frame.seq as number) ?? { id: String(frame.id), count: 0 };
            entry.count++;
            seqs.set(frame.seq as number, entry);
            const started = sentAt.get(String(frame.text));
            if (started !== undefined) deliveryLatencies.push(Date.now() - started);
            return;
          }
          const key = frame.type === 'joined' ? `join:${frame.room}` : frame.clientMsgId ? `send:${frame.clientMsgId}` : undefined;
          if (frame.type === 'error') errorFrames[String(frame.code)] = (errorFrames[String(frame.code)] ?? 0) + 1;
          if (key) client.pending.get(key)?.(frame);
        });
        // Joining the big room announces each arrival to everyone there (a presence storm of ~125,000 frames
        // for 500 members) that keeps a 2-core machine busy: the setup waits as long as a patient client would.
        await request(client, `join:${client.room}`, { action: 'join', room: client.room }, JOIN_TIMEOUT_MS);
        return client;
      }),
    );
    clients.push(...created);
  }
  await options.onReady?.();

  const ackLatencies: number[] = [];
  const acks: { room: string; seq: number; id: string; sender: string }[] = [];
  let gaveUp = 0;
  const big = clients.filter((c) => c.room === 'big');
  const small = clients.filter((c) => c.room !== 'big');
  const started = Date.now();
  const ticker = setInterval(() => options.onTick?.(Date.now() - started, { acked: acks.length, errorFrames }), 250);

  await Promise.all(
    Array.from({ length: options.sends }, async (_, i) => {
      const pool = big.length && (small.length === 0 || Math.random() < options.bigRoomShare) ? big : small;
      const client = pool[Math.floor(Math.random() * pool.length)] as Client;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * options.spreadMs));
      const clientMsgId = `m-${i}`;
      const text = `load ${i}`;
      const first = Date.now();
      // Message frames carry the text, not the clientMsgId; the text is unique per send.
      sentAt.set(text, first);
      for (let attempt = 1; Date.now() - first < retryForMs; attempt++) {
        const reply = await request(client, `send:${clientMsgId}`, { action: 'send', room: client.room, text, clientMsgId }, 30_000).catch(() => undefined);
        if (reply?.type === 'ack') {
          ackLatencies.push(Date.now() - first);
          acks.push({ room: client.room, seq: reply.seq as number, id: String(reply.id), sender: client.user });
          return;
        }
        if (reply?.type === 'error' && !reply.retryable) break;
        const wait = typeof reply?.retryAfterMs === 'number' ? reply.retryAfterMs : 200 * 2 ** Math.min(attempt, 5);
        await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
      }
      gaveUp++;
    }),
  );
  const durationMs = Date.now() - started;
  clearInterval(ticker);

  const violations = await verify(clients, acks);
  for (const client of clients) client.ws.close();
  return {
    clients: clients.length,
    sends: options.sends,
    acked: acks.length,
    gaveUp,
    durationMs,
    sendsPerSecond: Math.round((acks.length / durationMs) * 1000),
    ackLatencyMs: { p50: percentile(ackLatencies, 50) ?? 0, p99: percentile(ackLatencies, 99) ?? 0 },
    deliveryLatencyMs: { p50: percentile(deliveryLatencies, 50) ?? 0, p99: percentile(deliveryLatencies, 99) ?? 0 },
    deliveries: deliveryLatencies.length,
    errorFrames,
    violations,
  };
}

const JOIN_TIMEOUT_MS = 120_000;

function request(client: Client, key: string, frame: unknown, timeoutMs = 20_000): Promise<Frame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.pending.delete(key);
      reject(new Error(`no reply to ${key}`));
    }, timeoutMs);
    client.pending.set(key, (reply) => {
      clearTimeout(timer);
      client.pending.delete(key);
      resolve(reply);
    });
    client.ws.send(JSON.stringify(frame));
  });
}

/** Waits for in-flight fan-outs, then checks exactly-once delivery and complete, contiguous history. */
async function verify(clients: Client[], acks: { room: string; seq: number; id: string }[]): Promise<string[]> {
  const violations: string[] = [];
  const ackedByRoom = new Map<string, Map<number, string>>();
  for (const ack of acks) {
    const seqs = ackedByRoom.get(ack.room) ?? new Map<number, string>();
    ackedByRoom.set(ack.room, seqs);
    if (seqs.has(ack.seq) && seqs.get(ack.seq) !== ack.id) violations.push(`${ack.room} seq ${ack.seq} acked for two messages`);
    seqs.set(ack.seq, ack.id);
  }
  // Deliveries may trail the last ack by the time a fan-out takes.
  const deadline = Date.now() + 30_000;
  const complete = () =>
    clients.every((c) => [...(ackedByRoom.get(c.room)?.keys() ?? [])].every((seq) => c.received.get(c.room)?.has(seq)));
  while (!complete() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));

  for (const client of clients) {
    const acked = ackedByRoom.get(client.room) ?? new Map<number, string>();
    const got = client.received.get(client.room) ?? new Map();
    for (const [seq, id] of acked) {
      const entry = got.get(seq);
      if (!entry) violations.push(`${client.user} never received ${client.room} seq ${seq}`);
      else if (entry.count !== 1) violations.push(`${client.user} received ${client.room} seq ${seq} ${entry.count} times`);
      else if (entry.id !== id) violations.push(`${client.user} received another message as ${client.room} seq ${seq}`);
    }
    for (const [room, seqs] of client.received) {
      for (const seq of seqs.keys()) {
        if (!ackedByRoom.get(room)?.has(seq)) violations.push(`${client.user} received unacknowledged ${room} seq ${seq}`);
      }
    }
  }
  for (const [room, seqs] of ackedByRoom) {
    const member = clients.find((c) => c.room === room) as Client;
    const history = await readHistory(member, room);
    const historySeqs = history.map((m) => m.seq as number);
    const expected = Array.from({ length: historySeqs.length }, (_, i) => i + 1);
    if (historySeqs.join() !== expected.join()) violations.push(`${room} history is not contiguous from 1: ${historySeqs.slice(0, 20).join(',')}…`);
    for (const [seq, id] of seqs) {
      const stored = history.find((m) => m.seq === seq);
      if (!stored || stored.id !== id) violations.push(`${room} history lacks acked seq ${seq}`);
    }
    if (history.length !== seqs.size) violations.push(`${room} history holds ${history.length} messages, ${seqs.size} were acked`);
  }
  return violations;
}

async function readHistory(client: Client, room: string): Promise<Frame[]> {
  const messages: Frame[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('history timed out')), 20_000);
      const onMessage = (data: WebSocket.RawData) => {
        const frame = JSON.parse(data.toString()) as Frame;
        if (frame.type !== 'history' || frame.room !== room) return;
        clearTimeout(timer);
        client.ws.off('message', onMessage);
        resolve(frame);
      };
      client.ws.on('message', onMessage);
      client.ws.send(JSON.stringify({ action: 'history', room, afterSeq, limit: 100 }));
    });
    const batch = page.messages as Frame[];
    messages.push(...batch);
    if (!page.hasMore || batch.length === 0) return messages;
    afterSeq = batch[batch.length - 1]?.seq as number;
  }
}
