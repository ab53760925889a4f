/**
 * A reconnect storm on a local stack: clients connected and joined through the client library, every socket
 * dropped at once by the gateway (1006, as a network blip does), and each client left to come back by itself
 * (jittered backoff, a fresh token, a re-join resuming after the last seq it delivered). While they are down,
 * members of every room send messages (queued by the library until their own re-join), so coming back means
 * catching up. The storm is over when every client is back and has delivered every message of its room.
 *
 * Layout, from the plan's limits: each user holds as many connections as the connect function allows
 * (CONNECTIONS_PER_USER), all of them in the user's one room; a room holds `usersPerRoom` users, at most the join
 * function's MEMBERS_PER_ROOM. One room per connection is within ROOMS_PER_CONNECTION on any valid stage.
 *
 * The clients run in the caller's process and reach the stack through a `StormStack`: its URL, the plan's limits,
 * tokens, cold-start counters and the drop. `npm run bench -- storm` gives them a stack in another process
 * (bench/storm-stack.ts, over IPC), so the clients' CPU (sockets, handshakes, a signed token per reconnect, the
 * polling below) is not on the thread that runs the gateway, DynamoDB and the identity provider, as no deployment
 * has it; the suite's small storm uses `inProcessStormStack` over the stack it booted.
 */
import WebSocket from 'ws';
import { ChatClient } from '../client/chat-client.ts';
import type { WebSocketFactory } from '../client/socket.ts';
import { forEachLimited } from '../functions/app/concurrency.ts';
import { ENV } from '../functions/catalog/env.ts';
import { connectionsPerUserInPlan, crowdUser } from '../local/crowd.ts';
import { LIMITS } from '../local/gateway/limits.ts';
import { functionNameInPlan } from '../local/plan-names.ts';
import type { LocalStack } from '../local/stack.ts';
import { auditDeliveries, type DeliveryAudit } from './storm-ledger.ts';
import { percentile } from './statistics.ts';

/** The plan's limits the layout is made from. */
export interface StormLimits {
  /** The connect function's CONNECTIONS_PER_USER. */
  readonly connectionsPerUser: number;
  /** The join function's MEMBERS_PER_ROOM. */
  readonly membersPerRoom: number;
  /** The join function's ROOMS_PER_CONNECTION. */
  readonly roomsPerConnection: number;
}

/** What the storm needs of a stack, wherever that stack runs. */
export interface StormStack {
  readonly url: string;
  readonly limits: StormLimits;
  /** A token for `user` from the stack's identity provider, minted in the clients' process. */
  mint(user: string): Promise<string>;
  /** Cold starts so far, by function name. */
  coldStarts(): Promise<Readonly<Record<string, number>>>;
  /** Cuts every connection at the gateway (1006 for the clients); resolves to how many there were. */
  dropAllConnections(): Promise<number>;
}

/** A join function's limit as the plan sets it. */
function joinLimit(stack: Pick<LocalStack, 'plan' | 'functionEnvironment'>, name: string): number {
  const value = Number(stack.functionEnvironment(functionNameInPlan(stack.plan, 'join'))[name]);
  if (!(value > 0)) throw new Error(`the plan's join function has no ${name}`);
  return value;
}

/** The storm's limits, read from the plan a local stack runs. */
export function stormLimits(stack: Pick<LocalStack, 'plan' | 'functionEnvironment'>): StormLimits {
  return {
    connectionsPerUser: connectionsPerUserInPlan(stack),
    membersPerRoom: joinLimit(stack, ENV.membersPerRoom),
    roomsPerConnection: joinLimit(stack, ENV.roomsPerConnection),
  };
}

/** A stack in the clients' own process (the suite's storm): its CPU and theirs share the main thread. */
export function inProcessStormStack(stack: Pick<LocalStack, 'url' | 'plan' | 'functionEnvironment' | 'idp' | 'gateway' | 'coldStarts'>): StormStack {
  return {
    url: stack.url,
    limits: stormLimits(stack),
    mint: (user) => stack.idp.mint(user),
    coldStarts: async () => stack.coldStarts(),
    dropAllConnections: async () => stack.gateway.dropAllConnections(),
  };
}

export interface StormOptions {
  readonly clients: number;
  /** Users sharing one room (capped at the plan's MEMBERS_PER_ROOM). */
  readonly usersPerRoom?: number;
  /** Messages each room gets before the drop: every client resumes from a seq it delivered. */
  readonly messagesBeforeDrop?: number;
  /** Messages each room gets while its members are down, sent by distinct members as they come back. */
  readonly messagesDuringStorm?: number;
  /** Handshakes the setup keeps in flight (the storm itself is the clients' own doing). */
  readonly setupInFlight?: number;
  /** How long the setup may take: thousands of clients through the stage's $connect throttle take minutes. */
  readonly setupTimeoutMs?: number;
  /** How long the storm may take before the run gives up and reports what it has. */
  readonly timeoutMs: number;
  /** Progress lines (setup, the drop); the report is returned, not printed. */
  readonly progress?: (line: string) => void;
}

export interface Distribution {
  readonly p50?: number;
  readonly p99?: number;
  readonly max?: number;
}

export interface StormReport {
  readonly clients: number;
  readonly users: number;
  readonly rooms: number;
  readonly connectionsPerUser: number;
  readonly usersPerRoom: number;
  readonly setupSeconds: number;
  readonly dropped: number;
  /** Drop → a client's re-join answered (its room's `joined` frame), in seconds. */
  readonly backSeconds: Distribution;
  /** Drop → a client delivered every message of its room, in seconds. */
  readonly caughtUpSeconds: Distribution;
  readonly notBack: number;
  readonly notCaughtUp: number;
  /**
   * Handshakes the clients made after the drop, and those refused: 429 (the route or account throttle, or the
   * connect function: the user's slots still held by dropped connections whose $disconnect has not run), 5xx (a
   * failed or timed-out authorizer or $connect invocation).
   */
  readonly handshakes: { readonly attempts: number; readonly throttled: number; readonly failed: number; readonly retried: number };
  /** Cold starts during the storm, by function (those with none left out). */
  readonly coldStarts: Readonly<Record<string, number>>;
  readonly messages: {
    readonly beforeDrop: number;
    readonly duringStorm: number;
    /** Deliveries owed, at the moment a storm message was acknowledged, to members of its room not back yet. */
    readonly owedToClientsDown: number;
    readonly sendsFailed: number;
  };
  /** Of the clients that came back: each must have delivered every acknowledged message of its room once. */
  readonly audit: DeliveryAudit;
  /** Every client back and caught up, nothing lost, duplicated or foreign, every send acknowledged. */
  readonly complete: boolean;
}

interface StormClient {
  readonly name: string;
  readonly user: string;
  readonly room: string;
  readonly chat: ChatClient;
  readonly delivered: { seq: number; id: string }[];
  lastSeq: number;
  backAt?: number;
  caughtUpAt?: number;
}

/**
 * 32 handshakes in flight keep the connect path busy without starting more environments than a pool runs (16 per
 * function); setup may take 20 minutes on a busy machine.
 */
const DEFAULTS = { usersPerRoom: 5, messagesBeforeDrop: 2, messagesDuringStorm: 3, setupInFlight: 32, setupTimeoutMs: 20 * 60_000 } as const;
const POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function distribution(values: readonly number[]): Distribution {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : undefined };
}

/** Counts the handshakes the library makes and how the gateway refused them (ws names the status in its error). */
class HandshakeCounter {
  attempts = 0;
  throttled = 0;
  failed = 0;

  readonly factory: WebSocketFactory = (url) => {
    this.attempts++;
    const ws = new WebSocket(url);
    ws.on('error', (error) => {
      const status = Number(/Unexpected server response: (\d+)/.exec(error.message)?.[1]);
      if (status === 429) this.throttled++;
      else if (status >= 500) this.failed++;
    });
    return ws;
  };

  reset(): void {
    this.attempts = this.throttled = this.failed = 0;
  }
}

export async function runStorm(stack: StormStack, options: StormOptions): Promise<StormReport> {
  const progress = options.progress ?? (() => undefined);
  const { connectionsPerUser } = stack.limits;
  const usersPerRoom = Math.min(options.usersPerRoom ?? DEFAULTS.usersPerRoom, stack.limits.membersPerRoom);
  if (stack.limits.roomsPerConnection < 1) throw new Error('the plan lets a connection join no room');
  const messagesBeforeDrop = options.messagesBeforeDrop ?? DEFAULTS.messagesBeforeDrop;
  const messagesDuringStorm = options.messagesDuringStorm ?? DEFAULTS.messagesDuringStorm;
  const clientsPerRoom = connectionsPerUser * usersPerRoom;
  const handshakes = new HandshakeCounter();

  const clients: StormClient[] = Array.from({ length: options.clients }, (_, index) => {
    const user = crowdUser('storm', index, connectionsPerUser);
    const room = `storm-${Math.floor(index / clientsPerRoom)}`;
    const chat = new ChatClient({
      url: stack.url,
      token: () => stack.mint(user),
      webSocket: handshakes.factory,
      // Half API Gateway's idle timeout, instead of the library's minute: 5,000 clients pinging every minute are 83
      // ping invocations a second, a load of their own on a 2-core machine, which is not what the storm measures.
      heartbeatIntervalMs: LIMITS.idleMs / 2,
      // A send queued during the storm waits for its sender's return, however long the storm lasts.
      sendTimeoutMs: Math.max(options.timeoutMs, options.setupTimeoutMs ?? DEFAULTS.setupTimeoutMs),
    });
    return { name: `${user}#${index % connectionsPerUser}`, user, room, chat, delivered: [], lastSeq: 0 };
  });
  const rooms = new Map<string, StormClient[]>();
  for (const client of clients) rooms.set(client.room, [...(rooms.get(client.room) ?? []), client]);
  // Seqs start at 1 in a new room and are contiguous: a room's last seq is the number of messages sent to it.
  const roomTotal = messagesBeforeDrop + messagesDuringStorm;
  const acked = new Map<string, Map<number, string>>();
  const recordAck = (room: string, seq: number, id: string) => {
    const seqs = acked.get(room) ?? new Map<number, string>();
    acked.set(room, seqs);
    seqs.set(seq, id);
  };

  let droppedAt: number | undefined;
  for (const client of clients) {
    client.chat.on('message', (message) => {
      client.delivered.push({ seq: message.seq, id: message.id });
      client.lastSeq = Math.max(client.lastSeq, message.seq);
      if (droppedAt !== undefined && client.caughtUpAt === undefined && client.backAt !== undefined && client.lastSeq >= roomTotal) {
        client.caughtUpAt = performance.now();
      }
    });
    client.chat.on('joined', () => {
      if (droppedAt === undefined || client.backAt !== undefined) return;
      client.backAt = performance.now();
      if (client.lastSeq >= roomTotal) client.caughtUpAt = client.backAt;
    });
  }

  try {
    // ---- setup: connect and join, a few handshakes at a time (the library retries throttled ones) ----
    const setupStarted = performance.now();
    const setupTimeoutMs = options.setupTimeoutMs ?? DEFAULTS.setupTimeoutMs;
    const setupDeadline = Date.now() + setupTimeoutMs;
    let ready = 0;
    await forEachLimited(clients, options.setupInFlight ?? DEFAULTS.setupInFlight, async (client) => {
      if (Date.now() > setupDeadline) throw new Error(`setup timed out with ${ready} of ${clients.length} clients joined`);
      await client.chat.connect();
      await client.chat.join(client.room);
      if (++ready % 500 === 0) progress(`${ready} of ${clients.length} clients connected and joined`);
    });
    await Promise.all(
      [...rooms].map(async ([room, members]) => {
        for (let k = 0; k < messagesBeforeDrop; k++) {
          const ack = await (members[k % members.length] as StormClient).chat.send(room, `before the drop ${k}`);
          recordAck(room, ack.seq, ack.id);
        }
      }),
    );
    while (!clients.every((c) => c.lastSeq >= messagesBeforeDrop)) {
      if (Date.now() > setupDeadline) throw new Error('setup timed out waiting for the messages sent before the drop');
      await sleep(POLL_MS);
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    progress(`setup: ${clients.length} clients of ${rooms.size} rooms joined in ${setupSeconds.toFixed(1)} s; dropping every connection`);

    // ---- the storm ----
    const coldBefore = await stack.coldStarts();
    handshakes.reset();
    // Taken before the drop is asked for: with a stack in another process the times include the request's way there.
    droppedAt = performance.now();
    const dropped = await stack.dropAllConnections();
    let owedToClientsDown = 0;
    let sendsAcked = 0;
    const sends = [...rooms].flatMap(([room, members]) =>
      Array.from({ length: messagesDuringStorm }, async (_, k) => {
        const sender = members[(messagesBeforeDrop + k) % members.length] as StormClient;
        // Rejected only when the clients are closed after the deadline: counted as not acknowledged.
        const ack = await sender.chat.send(room, `during the storm ${k}`).catch(() => undefined);
        if (!ack) return;
        recordAck(room, ack.seq, ack.id);
        sendsAcked++;
        owedToClientsDown += members.filter((member) => member.backAt === undefined).length;
      }),
    );
    const stormDeadline = Date.now() + options.timeoutMs;
    const allCaughtUp = () => clients.every((c) => c.caughtUpAt !== undefined);
    while (!allCaughtUp() && Date.now() < stormDeadline) await sleep(POLL_MS);
    // An ack trails its message's deliveries by the fan-out; a send not acknowledged by the deadline failed.
    while (sendsAcked < sends.length && Date.now() < stormDeadline) await sleep(POLL_MS);
    const sendsFailed = sends.length - sendsAcked;
    const coldAfter = await stack.coldStarts();

    const since = (at: number | undefined) => (at === undefined ? [] : [(at - (droppedAt as number)) / 1000]);
    // A client that never came back lost nothing (it would resume when it does): it is counted as not back.
    const audit = auditDeliveries(
      acked,
      clients.filter((c) => c.backAt !== undefined).map((c) => ({ client: c.name, room: c.room, delivered: c.delivered })),
    );
    const notBack = clients.filter((c) => c.backAt === undefined).length;
    const notCaughtUp = clients.filter((c) => c.caughtUpAt === undefined).length;
    const coldStarts = Object.fromEntries(
      Object.entries(coldAfter)
        .map(([name, count]) => [name, count - (coldBefore[name] ?? 0)] as const)
        .filter(([, count]) => count > 0),
    );
    return {
      clients: clients.length,
      users: new Set(clients.map((c) => c.user)).size,
      rooms: rooms.size,
      connectionsPerUser,
      usersPerRoom,
      setupSeconds,
      dropped,
      backSeconds: distribution(clients.flatMap((c) => since(c.backAt))),
      caughtUpSeconds: distribution(clients.flatMap((c) => since(c.caughtUpAt))),
      notBack,
      notCaughtUp,
      handshakes: {
        attempts: handshakes.attempts,
        throttled: handshakes.throttled,
        failed: handshakes.failed,
        retried: Math.max(0, handshakes.attempts - (clients.length - notBack)),
      },
      coldStarts,
      messages: { beforeDrop: messagesBeforeDrop * rooms.size, duringStorm: messagesDuringStorm * rooms.size, owedToClientsDown, sendsFailed },
      audit,
      complete:
        notBack === 0 && notCaughtUp === 0 && sendsFailed === 0 && audit.lost === 0 && audit.duplicated === 0 && audit.foreign === 0,
    };
  } finally {
    for (const client of clients) client.chat.close();
  }
}
