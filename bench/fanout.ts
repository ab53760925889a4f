/**
 * `npm run bench -- fanout [--sizes 100,1000,10000] [--rounds 10] [--timeout-s 60] [--cpu-prof-dir DIR]`:
 * the time from a send to the last member's receipt of its message frame in rooms of each size, on the local stack
 * (the synthesized dev plan, in a child process) and, in the same run, on a bare `ws` server (another child)
 * broadcasting a message frame of the same shape to as many sockets. Clients live in this process, on loopback.
 * docs/performance.md describes the method and holds the figures.
 *
 * Fixture: every member is a real connection (the authorizer and $connect ran for it), but only the sender joins
 * through the `join` route. The other members' membership and presence items are written with the store adapter
 * the join handler writes with (DynamoChatStore), straight to the stack's DynamoDB: joining N members one by one
 * would announce each arrival to everyone already there, O(N²) frames, and measure a join storm instead of a
 * fan-out. Their connection ids come from the connections table $connect wrote, one user per connection.
 *
 * The room grows from size to size, so each connection is opened once. A round sends one message and waits for
 * every member's receipt and the ack before the next; a send refused by the stage's rate limit is retried after
 * the retryAfterMs it names and timed from the retry.
 */
import { paginateScan, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { DynamoChatStore } from '../functions/adapters/dynamodb-store.ts';
import { forEachLimited } from '../functions/app/concurrency.ts';
import type { Membership } from '../functions/app/ports.ts';
import { connectionExpiresAt } from '../functions/domain/lifetime.ts';
import { localDynamoClient } from '../local/dynamodb.ts';
import { DEFAULT_ACCOUNT_QUOTAS, type AccountQuotas } from '../local/gateway/limits.ts';
import { loadDevIdp } from '../local/idp.ts';
import { REPO_ROOT, synthesizedStackDir } from '../local/paths.ts';
import type { FanoutServerMessage } from './fanout-server.ts';
import { closeAll, openAll, type OpenedSockets } from './handshakes.ts';
import { loadAverage, revision } from './run-context.ts';
import { forkServer, type ServerProcess } from './servers.ts';
import { percentile } from './statistics.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    rounds: { type: 'string', default: '10' },
    'timeout-s': { type: 'string', default: '60' },
    /** Where to write V8 CPU profiles of the stack process: its main thread (gateway, DynamoDB) and each worker. */
    'cpu-prof-dir': { type: 'string' },
  },
});
if (positionals[0] !== 'fanout') throw new Error(`unknown benchmark ${positionals[0] ?? '(none)'}; this is fanout`);
const sizes = [...new Set(values.sizes.split(',').map(Number))].sort((a, b) => a - b);
const rounds = Number(values.rounds);
const roundTimeoutMs = Number(values['timeout-s']) * 1000;
if (!sizes.every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--sizes must be whole numbers >= 1, comma separated');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number >= 1');
if (!(roundTimeoutMs > 0)) throw new Error('--timeout-s must be a positive number');

const STAGE = 'dev';
const stackDir = synthesizedStackDir(STAGE);
if (!existsSync(path.join(stackDir, 'cdk.tf.json'))) throw new Error(`${stackDir} has no plan: run npm run synth first`);

const ROOM = 'fanout-bench';
const SENDER = 'fanout-sender';
const TEXT_CHARS = 200;
/**
 * Handshakes in flight at once: enough for the dev stage's $connect throttle (100/s) once environments are warm.
 * More start more environments at once, and on a busy 2-core machine cold starts that outlive the authorizer's
 * 10 s timeout are killed and started again, over and over.
 */
const HANDSHAKES_IN_FLIGHT = 8;
const HANDSHAKE_RETRY_PAUSE_MS = 100;
/** Opening 10,000 connections through the dev stage's $connect throttle (100/s) takes minutes. */
const SETUP_TIMEOUT_MS = 15 * 60 * 1000;
const SEED_CONCURRENCY = 32;
/** Beyond the join function's own 10 s timeout. */
const JOIN_TIMEOUT_MS = 30_000;
/** API Gateway's own throttled-message frame carries no retry hint. */
const GATEWAY_THROTTLE_PAUSE_MS = 1000;
/** The issue's targets. */
const TARGETS = { ratioAt1000: 8, deliveriesPerSecondAt1000: 5000, p99At10000Ms: 3000 } as const;

// ---- measurement ---------------------------------------------------------------------------------------------

/** The message one round waits for, and when each member socket received it (NaN until then). */
class Round {
  readonly receivedAt: Float64Array;
  received = 0;
  frameBytes = 0;
  readonly complete: Promise<void>;
  private resolveComplete = () => undefined as void;

  constructor(
    readonly text: string,
    readonly startedAt: number,
    members: number,
  ) {
    this.receivedAt = new Float64Array(members).fill(Number.NaN);
    this.complete = new Promise((resolve) => (this.resolveComplete = resolve));
  }

  record(member: number, at: number, bytes: number): void {
    // A second delivery of the same message counts once: the first one is what the member saw.
    if (!Number.isNaN(this.receivedAt[member])) return;
    this.receivedAt[member] = at;
    this.frameBytes = bytes;
    if (++this.received === this.receivedAt.length) this.resolveComplete();
  }
}

/** The member sockets of one server; each records the current round's message frame when it arrives. */
class Members {
  readonly sockets: WebSocket[] = [];
  /** Sockets the server closed: each is a member that can no longer receive. */
  closed = 0;
  private round?: Round;

  add(ws: WebSocket): void {
    const index = this.sockets.length;
    this.sockets.push(ws);
    ws.on('message', (data: Buffer) => {
      const round = this.round;
      if (!round) return;
      const at = performance.now();
      const frame = JSON.parse(data.toString()) as { type?: string; text?: string };
      if (frame.type === 'message' && frame.text === round.text) round.record(index, at, data.length);
    });
    ws.once('close', () => this.closed++);
  }

  start(text: string): Round {
    this.round = new Round(text, performance.now(), this.sockets.length);
    return this.round;
  }

  finish(): void {
    this.round = undefined;
  }
}

type Reply = { type?: string; code?: string; message?: string; retryAfterMs?: number; clientMsgId?: string };

/** The sending connection: one request in flight at a time, answered by a function's frame or API Gateway's. */
class Sender {
  private pending?: { readonly clientMsgId?: string; settle(reply: Reply, at: number): void };

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString()) as Reply;
      if (frame.type === 'message' || frame.type === 'presence') return;
      // A late answer to a send that timed out names that send's clientMsgId.
      if (frame.clientMsgId !== undefined && frame.clientMsgId !== this.pending?.clientMsgId) return;
      const pending = this.pending;
      this.pending = undefined;
      pending?.settle(frame, at);
    });
  }

  request(body: { action: string; room: string; text?: string; clientMsgId?: string }, timeoutMs: number): Promise<{ reply: Reply; at: number } | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.pending = {
        clientMsgId: body.clientMsgId,
        settle: (reply, at) => {
          clearTimeout(timer);
          resolve({ reply, at });
        },
      };
      this.ws.send(JSON.stringify(body));
    });
  }
}

interface RoundResult {
  readonly received: number;
  /** Send → receipt of every member that got it. */
  readonly latenciesMs: Float64Array;
  /** Send → first receipt: the work before the fan-out's first post (storing the message, listing members). */
  readonly firstMs?: number;
  /** Send → last receipt, when every member got it. */
  readonly lastMs?: number;
  readonly ackMs?: number;
  readonly frameBytes: number;
  /** Why the round ended without every receipt (and, on the stack, the ack). */
  readonly failure?: string;
}

function resultOf(round: Round, ackMs: number | undefined, failure: string | undefined): RoundResult {
  const latenciesMs = round.receivedAt.filter((at) => !Number.isNaN(at)).map((at) => at - round.startedAt);
  const complete = round.received === round.receivedAt.length;
  return {
    received: round.received,
    latenciesMs,
    firstMs: latenciesMs.length ? latenciesMs.reduce((first, latency) => Math.min(first, latency), Infinity) : undefined,
    lastMs: complete ? latenciesMs.reduce((last, latency) => Math.max(last, latency), 0) : undefined,
    ackMs,
    frameBytes: round.frameBytes,
    failure: failure ?? (complete ? undefined : `${round.received} of ${round.receivedAt.length} received after ${roundTimeoutMs / 1000} s`),
  };
}

/** Resolves true when the promise settles in time, false after `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every round's text has the same length and is unique, so members tell this round's frame from any other. */
const textFor = (label: string) => `${label} `.padEnd(TEXT_CHARS, '.');

let rateLimitWaits = 0;

async function stackRound(members: Members, sender: Sender, label: string): Promise<RoundResult> {
  const text = textFor(label);
  for (;;) {
    const round = members.start(text);
    const answered = await sender.request({ action: 'send', room: ROOM, text, clientMsgId: label }, roundTimeoutMs);
    const reply = answered?.reply;
    if (reply?.code === 'RATE_LIMITED' || reply?.message === 'Too Many Requests') {
      // Refused before anything was stored; the retry under the same clientMsgId is a new measurement.
      members.finish();
      rateLimitWaits++;
      await sleep(reply.retryAfterMs ?? GATEWAY_THROTTLE_PAUSE_MS);
      continue;
    }
    if (!answered || reply?.type !== 'ack') {
      members.finish();
      const why = answered ? `the send was answered ${JSON.stringify(reply)}` : `no ack after ${roundTimeoutMs / 1000} s`;
      return resultOf(round, undefined, `${why}; ${round.received} of ${round.receivedAt.length} received`);
    }
    const ackMs = answered.at - round.startedAt;
    // The ack may precede the last deliveries (a fan-out handed to other functions); the round waits for both.
    await within(round.complete, roundTimeoutMs - ackMs);
    members.finish();
    return resultOf(round, ackMs, undefined);
  }
}

async function rawRound(members: Members, trigger: WebSocket, label: string): Promise<RoundResult> {
  const text = textFor(label);
  const round = members.start(text);
  trigger.send(JSON.stringify({ action: 'send', room: ROOM, text, clientMsgId: label }));
  await within(round.complete, roundTimeoutMs);
  members.finish();
  return resultOf(round, undefined, undefined);
}

// ---- statistics ----------------------------------------------------------------------------------------------

interface Summary {
  readonly completeRounds: number;
  /** Medians over complete rounds of send → first and send → last receipt. */
  readonly firstMs?: number;
  readonly lastMs?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly ackMs?: number;
  readonly deliveriesPerSecond?: number;
  readonly frameBytes: number;
  readonly allDelivered: boolean;
  readonly failures: string[];
  /** Server CPU time per delivery, every thread of its process included. */
  readonly cpuMicrosPerDelivery: number;
  /** The same by thread, per delivery: where it went. */
  readonly cpuSplit: CpuSplit;
}

type CpuSnapshot = Omit<Extract<FanoutServerMessage, { kind: 'cpu' }>, 'kind'>;

interface CpuSplit {
  /** The gateway, the `@connections` server, DynamoDB: the stack process's main thread. */
  readonly mainThread: number;
  readonly functionsInit: number;
  /** Function name → its environments' CPU outside Init. */
  readonly functionsInvoke: Readonly<Record<string, number>>;
  /** Threads that are neither: V8's garbage collection and compiler helpers, libuv's pool. */
  readonly otherThreads: number;
}

/** CPU spent between two snapshots, split by thread, divided by the deliveries. */
function cpuSplit(before: CpuSnapshot, after: CpuSnapshot, deliveries: number): CpuSplit {
  const per = (micros: number) => (deliveries ? micros / deliveries : Number.NaN);
  let init = 0;
  const invoke: Record<string, number> = {};
  for (const [name, cpu] of Object.entries(after.functions)) {
    const was = before.functions[name] ?? { initMicros: 0, invokeMicros: 0 };
    init += cpu.initMicros - was.initMicros;
    const spent = cpu.invokeMicros - was.invokeMicros;
    if (spent > 0) invoke[name] = per(spent);
  }
  const invokeTotal = Object.values(invoke).reduce((sum, v) => sum + v, 0);
  const main = per(after.mainThreadMicros - before.mainThreadMicros);
  return {
    mainThread: main,
    functionsInit: per(init),
    functionsInvoke: invoke,
    otherThreads: per(after.micros - before.micros) - main - per(init) - invokeTotal,
  };
}

function summarize(members: number, results: readonly RoundResult[], cpuBefore: CpuSnapshot, cpuAfter: CpuSnapshot): Summary {
  const cpuMicros = cpuAfter.micros - cpuBefore.micros;
  const complete = results.filter((r) => r.lastMs !== undefined && !r.failure);
  const lastMs = percentile(complete.map((r) => r.lastMs as number), 50);
  const pooled = results.flatMap((r) => [...r.latenciesMs]);
  const deliveries = results.reduce((sum, r) => sum + r.received, 0);
  return {
    completeRounds: complete.length,
    firstMs: percentile(complete.map((r) => r.firstMs as number), 50),
    lastMs,
    p50Ms: percentile(pooled, 50),
    p99Ms: percentile(pooled, 99),
    ackMs: percentile(results.flatMap((r) => (r.ackMs === undefined ? [] : [r.ackMs])), 50),
    deliveriesPerSecond: lastMs === undefined ? undefined : members / (lastMs / 1000),
    frameBytes: Math.max(0, ...results.map((r) => r.frameBytes)),
    allDelivered: results.length === rounds && complete.length === rounds,
    failures: results.flatMap((r) => (r.failure ? [r.failure] : [])),
    cpuMicrosPerDelivery: deliveries ? cpuMicros / deliveries : Number.NaN,
    cpuSplit: cpuSplit(cpuBefore, cpuAfter, deliveries),
  };
}

// ---- fixture -------------------------------------------------------------------------------------------------

type StackReady = Extract<FanoutServerMessage, { kind: 'stack-ready' }>;

/**
 * Makes each user's open connection a member of the room with exactly what joinRoom writes (a membership, then
 * the connection in the user's presence), through the same store adapter, without joinRoom's reads and arrival
 * announcements.
 */
async function seedMembers(db: DynamoDBDocumentClient, ready: StackReady, users: readonly string[]): Promise<void> {
  const wanted = new Set(users);
  const connections = new Map<string, { connectionId: string; connectedAt: number }>();
  const pages = paginateScan(
    { client: db },
    { TableName: ready.tables.connections, ProjectionExpression: 'connectionId, userId, connectedAt', ConsistentRead: true },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const userId = item.userId as string;
      if (!wanted.has(userId)) continue;
      // A handshake retried after a 5xx may have left an earlier item behind: the newest is the open socket's.
      const known = connections.get(userId);
      if (!known || known.connectedAt < (item.connectedAt as number)) {
        connections.set(userId, { connectionId: item.connectionId as string, connectedAt: item.connectedAt as number });
      }
    }
  }
  const absent = users.filter((user) => !connections.has(user));
  if (absent.length) throw new Error(`${absent.length} members have no connection item (first: ${absent[0]})`);
  const store = new DynamoChatStore(db, ready.tables);
  const nowMs = Date.now();
  const memberships = users.map((userId): Membership => {
    const { connectionId, connectedAt } = connections.get(userId) as { connectionId: string; connectedAt: number };
    return { room: ROOM, connectionId, userId, joinedAt: nowMs, expiresAt: connectionExpiresAt(connectedAt) };
  });
  await forEachLimited(memberships, SEED_CONCURRENCY, async (membership) => {
    await store.putMembership(membership);
    await store.addPresence(membership, nowMs);
  });
}

// ---- the run -------------------------------------------------------------------------------------------------

const commas = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (value: number | undefined) =>
  value === undefined ? '—' : value < 100 ? `${value.toFixed(1)} ms` : value < 10_000 ? `${commas(value)} ms` : `${(value / 1000).toFixed(1)} s`;
const seconds = (since: number) => (performance.now() - since) / 1000;
const openOptions = () => ({ inFlight: HANDSHAKES_IN_FLIGHT, deadline: Date.now() + SETUP_TIMEOUT_MS, retryPauseMs: HANDSHAKE_RETRY_PAUSE_MS });
const describeOpened = (opened: OpenedSockets) =>
  `${commas(opened.sockets.length)} connections in ${opened.seconds.toFixed(1)} s ` +
  `(${commas(opened.sockets.length / opened.seconds)}/s; handshakes retried after ${HANDSHAKE_RETRY_PAUSE_MS} ms: ` +
  `${commas(opened.throttled)} throttled with 429, ${commas(opened.failed)} failed with 5xx)`;


interface SizeResult {
  readonly members: number;
  readonly stack: Summary;
  readonly raw: Summary;
}

const serverScript = path.join(REPO_ROOT, 'bench', 'fanout-server.ts');
const cpuSnapshot = async (server: ServerProcess<FanoutServerMessage>): Promise<CpuSnapshot> => server.ask('cpu', 'cpu');

console.log(
  `fanout: send → last receipt in rooms of ${sizes.map(commas).join(', ')} members, ${rounds} rounds each, ` +
    `${TEXT_CHARS}-character texts; local stack (${path.relative(REPO_ROOT, stackDir)}) and a bare ws server`,
);
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, load average ${loadAverage()}; ` +
    `node ${process.version}; commit ${revision()}; ${new Date().toISOString()}`,
);

const booting = performance.now();
const profiling = values['cpu-prof-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof-dir'])}`] : [];
const stackServer = forkServer<FanoutServerMessage>(serverScript, ['stack', STAGE, stackDir], profiling);
const rawServer = forkServer<FanoutServerMessage>(serverScript, ['raw']);
const stackMembers = new Members();
const rawSockets: WebSocket[] = [];
const results: SizeResult[] = [];
let setupFailure: string | undefined;
try {
  const [ready, rawReady] = await Promise.all([stackServer.next('stack-ready'), rawServer.next('raw-ready')]);
  const { quotas } = ready;
  const raised = (Object.keys(quotas) as (keyof AccountQuotas)[]).filter((key) => quotas[key] !== DEFAULT_ACCOUNT_QUOTAS[key]);
  console.log(
    `stack booted in ${seconds(booting).toFixed(1)} s; account quotas ` +
      `${raised.length ? `CHANGED from AWS's defaults (${raised.join(', ')})` : "are AWS's defaults, none raised"}: ` +
      `${commas(quotas.newConnectionsPerSecond)} new connections/s, ${commas(quotas.requestsPerSecond)} requests/s ` +
      `(burst ${commas(quotas.requestsBurst)}) shared by routes and @connections posts`,
  );
  const idp = await loadDevIdp(ready.stateDir);
  const tokenUrl = async (user: string) => `${ready.url}?token=${encodeURIComponent(await idp.mint(user))}`;
  const db = DynamoDBDocumentClient.from(localDynamoClient(ready.dynamoEndpoint, ready.region), {
    marshallOptions: { removeUndefinedValues: true },
  });

  // The sender joins through the real route while the room is empty, so its arrival is announced to nobody.
  const senderSocket = (await openAll([await tokenUrl(SENDER)], openOptions())).sockets[0] as WebSocket;
  const sender = new Sender(senderSocket);
  stackMembers.add(senderSocket);
  const joined = await sender.request({ action: 'join', room: ROOM }, JOIN_TIMEOUT_MS);
  if (joined?.reply.type !== 'joined') throw new Error(`the sender's join was answered ${JSON.stringify(joined?.reply)}`);
  // Cold-starts the send function outside any measured round.
  await stackRound(stackMembers, sender, 'warm-up');

  for (const size of sizes) {
    try {
      // Raw sockets close before the stack's room grows: both sets at once would exceed this process's descriptors.
      const rawOpened = await openAll(
        Array.from({ length: size }, (_, i) => `${rawReady.url}?user=${i === 0 ? SENDER : `fanout-member-${i}`}`),
        openOptions(),
      );
      rawSockets.push(...rawOpened.sockets);
      const rawMembers = new Members();
      rawOpened.sockets.forEach((ws) => rawMembers.add(ws));
      const trigger = rawOpened.sockets[0] as WebSocket;
      if (results.length === 0) await rawRound(rawMembers, trigger, 'warm-up');
      const rawResults: RoundResult[] = [];
      const rawCpuBefore = await cpuSnapshot(rawServer);
      for (let k = 0; k < rounds; k++) rawResults.push(await rawRound(rawMembers, trigger, `raw-${size}-${k}`));
      const raw = summarize(size, rawResults, rawCpuBefore, await cpuSnapshot(rawServer));
      await closeAll(rawOpened.sockets);
      rawSockets.length = 0;

      const growing = performance.now();
      const users = Array.from({ length: size - stackMembers.sockets.length }, (_, i) => `fanout-member-${stackMembers.sockets.length + i}`);
      const opened = await openAll(await Promise.all(users.map(tokenUrl)), openOptions());
      opened.sockets.forEach((ws) => stackMembers.add(ws));
      const seeding = performance.now();
      await seedMembers(db, ready, users);
      console.log(
        `${commas(size)} members: stack opened ${describeOpened(opened)}, seeded ${commas(users.length)} memberships ` +
          `in ${seconds(seeding).toFixed(1)} s; setup ${seconds(growing).toFixed(1)} s`,
      );

      const stackResults: RoundResult[] = [];
      const stackCpuBefore = await cpuSnapshot(stackServer);
      for (let k = 0; k < rounds; k++) {
        const result = await stackRound(stackMembers, sender, `stack-${size}-${k}`);
        stackResults.push(result);
        // Every further round would fail the same way, each after up to the send function's timeout.
        if (result.failure) break;
      }
      const stack = summarize(size, stackResults, stackCpuBefore, await cpuSnapshot(stackServer));
      results.push({ members: size, stack, raw });
      console.log(
        `${commas(size)} members: stack ${stack.completeRounds}/${rounds} rounds complete, median ${ms(stack.lastMs)}; ` +
          `raw ws ${raw.completeRounds}/${rounds}, median ${ms(raw.lastMs)}` +
          (stackMembers.closed ? `; ${stackMembers.closed} member sockets were closed by the stack` : ''),
      );
      for (const failure of [...stack.failures.map((f) => `stack: ${f}`), ...raw.failures.map((f) => `raw ws: ${f}`)]) {
        console.log(`  ${failure}`);
      }
    } catch (error) {
      setupFailure = `${commas(size)} members: ${(error as Error).message}`;
      console.log(setupFailure);
      break;
    }
  }
} finally {
  // The stack goes first: closing member sockets while it runs would announce every departure to the room.
  await stackServer.stop();
  await rawServer.stop();
  await closeAll([...stackMembers.sockets, ...rawSockets]);
}

// ---- report --------------------------------------------------------------------------------------------------

console.log('');
console.log(
  '| members | send → last receipt (median) | send → first receipt (median) | delivery p50 / p99 | ack (median) | deliveries/s | ' +
    'raw ws: send → last receipt | raw ws deliveries/s | stack / raw | all delivered | server CPU per delivery, stack / raw |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|');
for (const { members, stack, raw } of results) {
  const ratio = stack.lastMs !== undefined && raw.lastMs !== undefined ? `${(stack.lastMs / raw.lastMs).toFixed(1)}×` : '—';
  const perSecond = (s: Summary) => (s.deliveriesPerSecond === undefined ? '—' : commas(s.deliveriesPerSecond));
  const micros = (s: Summary) => `${s.cpuMicrosPerDelivery.toFixed(0)} µs`;
  console.log(
    `| ${commas(members)} | ${ms(stack.lastMs)} | ${ms(stack.firstMs)} | ${ms(stack.p50Ms)} / ${ms(stack.p99Ms)} | ${ms(stack.ackMs)} | ${perSecond(stack)} | ` +
      `${ms(raw.lastMs)} | ${perSecond(raw)} | ${ratio} | ${stack.allDelivered && raw.allDelivered ? 'yes' : 'no'} | ` +
      `${micros(stack)} / ${micros(raw)} |`,
  );
}
console.log('');
console.log(
  "| members | the stack's CPU per delivery | main thread (gateway, @connections, DynamoDB) | functions' Init (cold starts) | " +
    "functions' invocations | other threads (GC and compiler helpers, libuv) |",
);
console.log('|---:|---:|---:|---:|---|---:|');
for (const { members, stack } of results) {
  const split = stack.cpuSplit;
  const us = (v: number) => `${v.toFixed(0)} µs`;
  const invocations = Object.entries(split.functionsInvoke)
    .sort(([, a], [, b]) => b - a)
    .map(([name, v]) => `${name.replace(/^.*-/, '')} ${us(v)}`)
    .join(', ');
  console.log(
    `| ${commas(members)} | ${us(stack.cpuMicrosPerDelivery)} | ${us(split.mainThread)} | ${us(split.functionsInit)} | ` +
      `${invocations || '—'} | ${us(split.otherThreads)} |`,
  );
}
const frameBytes = results.map((r) => `${commas(r.members)}: ${r.stack.frameBytes} / ${r.raw.frameBytes} B`).join(', ');
console.log('');
console.log(`message frame sizes, stack / raw: ${frameBytes}; sends retried after the stage's rate limit: ${rateLimitWaits}`);
console.log(`load average at the end: ${loadAverage()}`);

/** PASS, FAIL, or why it could not be judged. */
const verdicts: boolean[] = [];
function target(description: string, size: number, judge: (r: SizeResult) => { value: string; pass: boolean }): void {
  const result = results.find((r) => r.members === size);
  if (!result) {
    console.log(`${description}: not measured (--sizes has no ${size} or its setup failed)`);
    return;
  }
  const { value, pass } = judge(result);
  verdicts.push(pass);
  console.log(`${description}: ${value} ${pass ? 'PASS' : 'FAIL'}`);
}
target(`1,000 members within ${TARGETS.ratioAt1000}× the raw broadcast`, 1000, ({ stack, raw }) => {
  const ratio = stack.lastMs !== undefined && raw.lastMs !== undefined ? stack.lastMs / raw.lastMs : undefined;
  return { value: ratio === undefined ? 'no complete round' : `${ratio.toFixed(1)}×`, pass: ratio !== undefined && ratio <= TARGETS.ratioAt1000 };
});
target(`1,000 members at >= ${commas(TARGETS.deliveriesPerSecondAt1000)} deliveries/s`, 1000, ({ stack }) => ({
  value: stack.deliveriesPerSecond === undefined ? 'no complete round' : `${commas(stack.deliveriesPerSecond)}/s`,
  pass: (stack.deliveriesPerSecond ?? 0) >= TARGETS.deliveriesPerSecondAt1000,
}));
target(`10,000 members all delivered, p99 under ${TARGETS.p99At10000Ms / 1000} s`, 10_000, ({ stack }) => ({
  value: `${stack.allDelivered ? 'all delivered' : 'not all delivered'}, p99 ${ms(stack.p99Ms)}`,
  pass: stack.allDelivered && stack.p99Ms !== undefined && stack.p99Ms < TARGETS.p99At10000Ms,
}));

const everyRoundDelivered = results.every((r) => r.stack.allDelivered && r.raw.allDelivered);
process.exitCode = !setupFailure && everyRoundDelivered && verdicts.every(Boolean) ? 0 : 1;
