/**
 * Alarm drills: for an alarm of the catalog (or an SLO's burn-rate tier), inject its fault into a running local stack under the traffic
 * that exposes it, wait for the plan's alarm to reach ALARM, clear the fault, and wait for OK.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SignJWT, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import { ALARMS, alarmById, type DrillFault, type Severity } from '../dashboards/alarms.ts';
import { BURN_RATE_TIERS, SLOS, sloAlarmId, type BurnRateTier, type SloDefinition } from '../dashboards/slos.ts';
import { ENV } from '../functions/catalog/env.ts';
import { FANOUT_FUNCTION } from '../functions/catalog/functions.ts';
import { redriveFanoutDeadLetters } from '../ops/redrive-fanout.ts';
import { connectionsPerUserInPlan, crowdUser } from './crowd.ts';
import type { Fault } from './faults.ts';
import { LIMITS } from './gateway/limits.ts';
import { LOCAL_IDP } from './idp.ts';
import { alarmNameInPlan, functionNameInPlan, tableNameInPlan } from './plan-names.ts';
import type { LocalStack } from './stack.ts';

export interface DrillResult {
  readonly alarm: string;
  readonly fault: DrillFault;
  /** The composite alarms the drilled alarm is a member of (the page), each OK before the fault and after recovery. */
  readonly composites: readonly string[];
  /** When the fault was injected (Date.now()): the alarm's history from here on is the drill's. */
  readonly injectedAt: number;
  readonly firedAfterMs: number;
  readonly recoveredAfterMs: number;
}

interface DrillPlan {
  /** Which instance of a per-function or per-table alarm the drill targets: a catalog function or table. */
  readonly target?: string;
  /** `fn` and `table` give the plan's name of a catalog function or table; some drills need two faults at once. */
  readonly fault: (names: { fn: (name: string) => string; table: (key: string) => string }) => Fault | readonly Fault[] | undefined;
  readonly traffic: Traffic;
  /** Requests are sent this often (default: a quarter of the alarm period, within 50–500 ms). */
  readonly everyMs?: number;
  /** What on-call does once the fault is gone, repeated until the alarm is OK (the runbook's mitigation). */
  readonly mitigate?: (stack: LocalStack) => Promise<void>;
  /**
   * The alarm watches an age in seconds: the fault lasts until the first dead letter arrives, then that letter
   * ages past the alarm's threshold (compressed by the time scale) with no traffic at all.
   */
  readonly agesPastThreshold?: true;
  /** The traffic is the fault (no stack fault to inject): clearing the fault stops the traffic. */
  readonly trafficIsTheFault?: true;
  /**
   * The alarm's metric comes from the stack's schedules (the canary): the stack must run them, at a time scale
   * no higher than this, so that a compressed minute still holds a whole run on a busy machine.
   */
  readonly schedules?: { readonly maxTimeScale: number };
}

const PLANS: Record<DrillFault, DrillPlan> = {
  'function-crash': { target: 'ping', fault: ({ fn }) => ({ kind: 'function-crash', functionName: fn('ping') }), traffic: 'pings' },
  'function-throttle': { target: 'ping', fault: ({ fn }) => ({ kind: 'function-throttle', functionName: fn('ping') }), traffic: 'pings' },
  // On the memberships table only, as a hot table throttles: a join's other calls (its route token) still succeed.
  'dynamodb-throttle': { target: 'memberships', fault: ({ table }) => ({ kind: 'dynamodb-throttle', tableName: table('memberships') }), traffic: 'joins' },
  'dynamodb-system-error': {
    target: 'memberships',
    fault: ({ table }) => ({ kind: 'dynamodb-system-error', tableName: table('memberships') }),
    traffic: 'joins',
  },
  // A ping refreshes its connection item with one DynamoDB call: at 4.2 s it takes 84% of its 5 s timeout,
  // past the 80% threshold and short of a timeout.
  'dynamodb-slow': { target: 'ping', fault: () => ({ kind: 'dynamodb-slow', delayMs: 4200 }), traffic: 'pings' },
  // 400 ms a call: well above the latency alarm's 250 ms average, far from any function's timeout. A ping's one
  // call is on the connections table.
  'dynamodb-moderately-slow': { target: 'connections', fault: () => ({ kind: 'dynamodb-slow', delayMs: 400 }), traffic: 'pings' },
  // An ack and a fan-out post at 6 s each: a send takes over 12 s.
  'slow-fanout': { fault: () => ({ kind: 'slow-fanout', delayMs: 6000 }), traffic: 'sends' },
  'connections-api-error': { fault: () => ({ kind: 'connections-api-error' }), traffic: 'sends' },
  'stale-connections': { fault: () => ({ kind: 'lost-disconnects' }), traffic: 'vanishing-members' },
  // Handshakes with forged tokens; they stop when the drill clears.
  'forged-tokens': { fault: () => undefined, traffic: 'forged-tokens', trafficIsTheFault: true },
  // One user opening connection after connection (a client that never closes its old ones): once it holds the
  // plan's connections per user, every handshake is refused.
  'connection-flood': { fault: () => undefined, traffic: 'connection-flood', trafficIsTheFault: true },
  // Every shard of a large room crashes the fan-out function until Lambda's retries are spent and the shard
  // lands in the dead-letter queue; each send makes several shards, so sends are spaced out.
  'fanout-crash': {
    fault: ({ fn }) => ({ kind: 'function-crash', functionName: fn(FANOUT_FUNCTION) }),
    traffic: 'large-room-sends',
    everyMs: 2000,
    mitigate: redriveDeadLetters,
  },
  // Shards crash for good and their dead-letter queue cannot be reached: Lambda counts each lost record.
  'dead-letter-queue-unreachable': {
    target: FANOUT_FUNCTION,
    fault: ({ fn }) => [{ kind: 'function-crash', functionName: fn(FANOUT_FUNCTION) }, { kind: 'sqs-unreachable' }],
    traffic: 'large-room-sends',
    everyMs: 2000,
  },
  // No users at all: the canary's runs are the only traffic, and every $connect fails.
  'connect-outage': {
    fault: ({ fn }) => ({ kind: 'function-crash', functionName: fn('connect') }),
    traffic: 'none',
    schedules: { maxTimeScale: 10 },
  },
  'dead-letters-aging': {
    fault: ({ fn }) => ({ kind: 'function-crash', functionName: fn(FANOUT_FUNCTION) }),
    traffic: 'large-room-sends',
    everyMs: 2000,
    mitigate: redriveDeadLetters,
    agesPastThreshold: true,
  },
};

const SOCKETS = 4;

/** `none`: no user traffic at all (the stack's own schedules, the canary, still run). */
type Traffic = 'pings' | 'joins' | 'sends' | 'large-room-sends' | 'vanishing-members' | 'forged-tokens' | 'connection-flood' | 'none';

/** The runbook's mitigation: redrive the dead-letter queue into the (healthy again) fan-out function. */
async function redriveDeadLetters(stack: LocalStack): Promise<void> {
  const credentials = { accessKeyId: 'drill', secretAccessKey: 'drill' };
  const sqs = new SQSClient({ region: stack.region, endpoint: stack.sqsEndpoint, credentials });
  const lambda = new LambdaClient({ region: stack.region, endpoint: stack.lambdaEndpoint, credentials });
  try {
    for (const queueName of stack.queues.names) {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      // Into the function as the send path invokes it (its alias, whose event-invoke config retries a failure).
      const functionName = stack.functionEnvironment(functionNameInPlan(stack.plan, 'send'))[ENV.fanoutFunction] as string;
      await redriveFanoutDeadLetters({ sqs, lambda, queueUrl: QueueUrl as string, functionName });
    }
  } finally {
    sqs.destroy();
    lambda.destroy();
  }
}

/** Opens a WebSocket; a refused handshake rejects with `handshake <status>`. */
export function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake ${res.statusCode}`)));
  });
}

/**
 * Opens a drill member's connection as a client does: a handshake refused with 5xx or 429 (a connect that timed
 * out on a busy machine, a throttle) is tried again after a backoff, up to 4 tries; other refusals fail at once.
 */
async function openAsClient(url: string): Promise<WebSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(url);
    } catch (error) {
      const status = Number(/^handshake (\d+)$/.exec((error as Error).message)?.[1]);
      if (attempt === 4 || !(status >= 500 || status === 429)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

async function forgedToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'forged' }).setSubject('mallory').setIssuer(LOCAL_IDP.issuer).setAudience(LOCAL_IDP.audience).setExpirationTime('1h').sign(privateKey);
}

/** Keeps requests flowing every `everyMs` until stopped; each request may take long (faults slow them). */
class TrafficGenerator {
  private timer?: NodeJS.Timeout;
  private tick?: () => void;
  private everyMs = 0;
  private keepAlive?: NodeJS.Timeout;
  private readonly sockets: WebSocket[] = [];
  /** Members that only fill the room (large-room-sends); the first sockets send. */
  private readonly extraMembers: WebSocket[] = [];
  /** Drill-ghost members stranded so far. */
  private stranded = 0;
  /** Indexes of traffic connections being reopened. */
  private readonly reconnecting = new Set<number>();
  private sent = 0;
  /** Set when the drill injects its fault: forged-token traffic is healthy pings until then. */
  private faulty = false;
  private faultyHandshakesPerTick = 0;
  private stopped = false;
  /** Tokens of the drill users, minted once each. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly stack: LocalStack,
    private readonly kind: Traffic,
    private readonly room: string,
  ) {}

  /**
   * The token of the `index`th connection of a drill crowd (local/crowd.ts): `<room>-<user>-0`, `<room>-<user>-1`, ...
   * Each drill has its own users: the last drill's connections may still hold their slots (their $disconnect runs
   * after the socket closes), and the per-user limit would refuse the next drill's handshakes with 429.
   */
  private async tokenOf(user: string, index: number): Promise<string> {
    const name = crowdUser(`${this.room}-${user}`, index, connectionsPerUserInPlan(this.stack));
    let token = this.tokens.get(name);
    if (!token) this.tokens.set(name, (token = await this.stack.idp.mint(name)));
    return token;
  }

  async start(everyMs: number): Promise<void> {
    if (this.kind === 'none') return;
    // The connections share the requests, so each stays inside its routes' token buckets.
    for (let i = 0; i < SOCKETS; i++) this.sockets.push(await openAsClient(`${this.stack.url}?token=${await this.tokenOf('drill-bot', i)}`));
    if (this.joinsRoom) {
      for (const ws of this.sockets) ws.send(JSON.stringify({ action: 'join', room: this.room }));
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    if (this.kind === 'large-room-sends') {
      // One more member than the plan's threshold makes the room large. They are a few drill-bot users' connections,
      // so their joins announce presence once per user.
      const threshold = Number(this.stack.functionEnvironment(functionNameInPlan(this.stack.plan, 'send'))[ENV.fanoutAsyncThreshold]);
      if (!(threshold > 0)) throw new Error(`the plan's send function has no ${ENV.fanoutAsyncThreshold}`);
      // Filling the room takes a while and the members stay quiet: without pings the gateway's idle timeout
      // (compressed by the time scale) would close them, and the senders too.
      const ping = JSON.stringify({ action: 'ping' });
      this.keepAlive = setInterval(() => {
        for (const ws of [...this.sockets, ...this.extraMembers]) if (ws.readyState === WebSocket.OPEN) ws.send(ping);
      }, LIMITS.idleMs / this.stack.timeScale / 2);
      // Each batch is kept alive from the moment it has joined, not once the whole room is full.
      await this.joinMembers('drill-bot', threshold + 1 - this.sockets.length, this.sockets.length, this.extraMembers);
    }
    if (this.kind === 'connection-flood') {
      // The connections the flood gets before the limit holds stay open, kept alive like a leaking client's.
      const ping = JSON.stringify({ action: 'ping' });
      this.keepAlive = setInterval(() => {
        for (const ws of [...this.sockets, ...this.extraMembers]) if (ws.readyState === WebSocket.OPEN) ws.send(ping);
      }, LIMITS.idleMs / this.stack.timeScale / 2);
    }
    const flooder = this.kind === 'connection-flood' ? `${this.stack.url}?token=${await this.stack.idp.mint('drill-flooder')}` : '';
    const forged = this.kind === 'forged-tokens' ? await forgedToken() : '';
    this.tick = () => {
      const index = this.sent++ % this.sockets.length;
      const ws = this.sockets[index] as WebSocket;
      if (ws.readyState === WebSocket.CLOSED) this.reconnect(index);
      if (ws.readyState !== WebSocket.OPEN) return;
      switch (this.kind) {
        case 'pings':
          return ws.send(JSON.stringify({ action: 'ping' }));
        case 'joins':
          return ws.send(JSON.stringify({ action: 'join', room: `${this.room}-${this.sent % 5}` }));
        case 'sends':
        case 'large-room-sends':
        case 'vanishing-members':
          return ws.send(JSON.stringify({ action: 'send', room: this.room, text: `drill ${this.sent}`, clientMsgId: `drill-${this.sent}` }));
        case 'forged-tokens':
          if (!this.faulty) return ws.send(JSON.stringify({ action: 'ping' }));
          for (let i = 0; i < this.faultyHandshakesPerTick; i++) open(`${this.stack.url}?token=${forged}`).then((s) => s.close(), () => undefined);
          return;
        case 'connection-flood':
          if (!this.faulty) return ws.send(JSON.stringify({ action: 'ping' }));
          for (let i = 0; i < this.faultyHandshakesPerTick; i++) open(flooder).then((s) => this.keepOpen(s), () => undefined);
      }
    };
    this.everyMs = everyMs;
    this.timer = setInterval(this.tick, everyMs);
  }

  /**
   * Replaces a traffic connection the gateway closed (its maximum duration, compressed by the time scale, is
   * two minutes at 60x), as a client reconnects: a drill whose windows outlast it keeps its traffic.
   */
  private reconnect(index: number): void {
    if (this.stopped || this.reconnecting.has(index)) return;
    this.reconnecting.add(index);
    void (async () => {
      const ws = await openAsClient(`${this.stack.url}?token=${await this.tokenOf('drill-bot', index)}`);
      if (this.joinsRoom) await this.join(ws, 'it reconnects on its next tick');
      if (this.stopped) ws.close();
      else this.sockets[index] = ws;
    })()
      // A failed reconnect is tried again on this connection's next tick.
      .catch(() => undefined)
      .finally(() => this.reconnecting.delete(index));
  }

  /** Stops sending (the connections stay open) until resume(). */
  pause(): void {
    clearInterval(this.timer);
  }

  resume(): void {
    clearInterval(this.timer);
    if (this.tick) this.timer = setInterval(this.tick, this.everyMs);
  }

  /** The drill's fault begins: traffic that is itself the fault (forged tokens, this many a tick) starts now. */
  beginFault(handshakesPerTick = 0): void {
    this.faultyHandshakesPerTick = handshakesPerTick;
    this.faulty = true;
  }

  /**
   * Members that join and then vanish without a $disconnect reaching the backend. Each wave is new users: a
   * vanished member's connection slot is never released by a $disconnect.
   */
  async strandMembers(count: number): Promise<void> {
    const first = this.stranded;
    this.stranded += count;
    const ghosts = await this.joinMembers('drill-ghost', count, first, []);
    for (const ws of ghosts) ws.terminate();
  }

  /**
   * Opens `count` connections of `user`'s drill users (from its `first`th) and joins each to the room, waiting for
   * each answer; adds them to `members` batch by batch.
   */
  private async joinMembers(user: string, count: number, first: number, members: WebSocket[]): Promise<WebSocket[]> {
    // In batches, so a 2-core machine is not asked to cold-start dozens of environments at once.
    for (let batch = 0; batch < count; batch += 10) {
      const joined = await Promise.all(
        Array.from({ length: Math.min(10, count - batch) }, async (_, i) => {
          const ws = await openAsClient(`${this.stack.url}?token=${await this.tokenOf(user, first + batch + i)}`);
          // A connection closed before its answer (the gateway's maximum connection duration, compressed by the
          // time scale, ends connections of a room that takes minutes to fill) fails the drill instead of hanging it.
          await this.join(ws, 'filling the room took too long');
          return ws;
        }),
      );
      members.push(...joined);
    }
    return members;
  }

  /** Traffic that sends into the drill's room: its connections are members. */
  private get joinsRoom(): boolean {
    return this.kind === 'sends' || this.kind === 'vanishing-members' || this.kind === 'large-room-sends';
  }

  /** Joins the drill's room and waits for the answer; a close before it rejects, saying what that means (`meaning`). */
  private join(ws: WebSocket, meaning: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('close', (code) => reject(new Error(`a member's connection closed (${code}) before its join was answered: ${meaning}`)));
      ws.send(JSON.stringify({ action: 'join', room: this.room }));
    });
  }

  /** Keeps a connection that opened while the traffic runs; one that opened after it stopped is closed. */
  private keepOpen(ws: WebSocket): void {
    if (this.stopped) ws.close();
    else this.extraMembers.push(ws);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.keepAlive);
    for (const ws of [...this.sockets, ...this.extraMembers]) ws.close();
  }
}

/** Resolves once no invocation is in flight (or after `timeoutMs`: the recovery wait then reports what is wrong). */
async function waitForIdle(stack: LocalStack, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (stack.invocationsInFlight() > 0 && Date.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** The count a period above which the alarm breaches, for drills whose traffic is sized by it. */
function countThreshold(alarmId: string): number {
  const { rule } = alarmById(alarmId);
  if (rule.kind !== 'threshold' || typeof rule.threshold !== 'number') throw new Error(`${alarmId}: its drill sizes its traffic by a count threshold, and the alarm has none`);
  return rule.threshold;
}

/**
 * Handshakes a tick of traffic that is itself the fault (forged tokens, a flood). A count alarm gets twice its
 * threshold a period, so a busy machine's slower handshakes still cross it; a ratio alarm gets five for each healthy
 * request of the tick, a share of 83%, far past any percentage it alarms on.
 */
function faultyHandshakesPerTick(alarmId: string, everyMs: number, periodMs: number): number {
  if (alarmById(alarmId).rule.kind === 'ratio') return 5;
  return Math.ceil((2 * countThreshold(alarmId) * everyMs) / periodMs);
}

/**
 * How much of a drill's fault is its own traffic, sized by the alarm it must raise: handshakes a tick (forged
 * tokens, a flood) and members a wave of vanishing ones (more than the alarm's threshold of pruned connections a
 * period). Zero where the drill's traffic is not the fault. Throws when the alarm's rule cannot size it.
 */
export function faultTrafficSize(alarmId: string, everyMs: number, periodMs: number): { handshakesPerTick: number; vanishingWave: number } {
  // An SLO tier's drill sends healthy-looking traffic into a failing table: none of it is sized.
  const definition = isSloTierId(alarmId) ? undefined : alarmById(alarmId);
  const traffic = definition && 'fault' in definition.drill ? PLANS[definition.drill.fault].traffic : undefined;
  return {
    handshakesPerTick: traffic === 'forged-tokens' || traffic === 'connection-flood' ? faultyHandshakesPerTick(alarmId, everyMs, periodMs) : 0,
    vanishingWave: traffic === 'vanishing-members' ? Math.ceil(countThreshold(alarmId) * 1.2) : 0,
  };
}

/** Runs `task` after `firstAfterMs` and then every `everyMs` after it settles, until stopped. */
function repeatUntilStopped(task: () => Promise<void>, everyMs: number, firstAfterMs = 0): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    if (stopped) return;
    task()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(run, everyMs);
      });
  };
  timer = setTimeout(run, firstAfterMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Waits until the alarm has been evaluated once (INSUFFICIENT_DATA is where every alarm starts) and returns its state. */
async function evaluatedState(stack: LocalStack, alarm: string, timeoutMs: number): Promise<string> {
  const started = Date.now();
  for (;;) {
    const status = stack.alarms.statuses.get(alarm);
    if (!status) throw new Error(`the plan has no alarm ${alarm}`);
    if (status.state !== 'INSUFFICIENT_DATA' || Date.now() - started > timeoutMs) return status.state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A drill proves a transition: an alarm that is not OK before the fault cannot show that the fault raised it. */
async function requireOk(stack: LocalStack, alarms: readonly string[], when: string, timeoutMs: number): Promise<void> {
  for (const alarm of alarms) {
    const state = await evaluatedState(stack, alarm, timeoutMs);
    if (state !== 'OK') {
      const status = stack.alarms.statuses.get(alarm);
      throw new Error(`${alarm} is ${state} ${when}, not OK: the drill cannot prove the fault raises it (${status?.reason ?? ''})`);
    }
  }
}

function waitForState(stack: LocalStack, alarm: string, state: 'ALARM' | 'OK', timeoutMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const status = stack.alarms.statuses.get(alarm);
      if (!status) {
        clearInterval(poll);
        reject(new Error(`the plan has no alarm ${alarm}`));
      } else if (status.state === state) {
        clearInterval(poll);
        resolve(Date.now() - started);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`${alarm} did not reach ${state} within ${timeoutMs} ms (state ${status.state}: ${status.reason})`));
      }
    }, 100);
  });
}

/** Waits until `alarm` has been OK without a break for `quietMs`. */
async function waitForQuiet(stack: LocalStack, alarm: string, quietMs: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const status = stack.alarms.statuses.get(alarm);
    if (!status) throw new Error(`the plan has no alarm ${alarm}`);
    if (status.state === 'OK' && Date.now() - status.since >= quietMs) return;
    if (Date.now() - started > timeoutMs + quietMs) throw new Error(`${alarm} was not OK for ${quietMs} ms within ${timeoutMs + quietMs} ms (state ${status.state}: ${status.reason})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until a dead-letter queue of the plan received a message after `since`. */
async function waitForDeadLetter(stack: LocalStack, since: number, timeoutMs: number): Promise<void> {
  const sent = () =>
    stack.queues.names.some(
      (QueueName) => (stack.metrics.stat({ namespace: 'AWS/SQS', name: 'NumberOfMessagesSent', dimensions: { QueueName } }, 'Sum', since, Date.now() + 1) ?? 0) > 0,
    );
  const started = Date.now();
  while (!sent()) {
    if (Date.now() - started > timeoutMs) throw new Error(`no dead letter arrived within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The SLO burn-rate tier an id of the form `slo-<slo>-<tier>` names (dashboards/slos.ts), if it names one. */
function sloTierOf(id: string): { slo: SloDefinition; tier: BurnRateTier } | undefined {
  for (const slo of SLOS) for (const tier of BURN_RATE_TIERS) if (sloAlarmId(slo.id, tier.id) === id) return { slo, tier };
  return undefined;
}

/** What a drill needs to know of what it drills: an alarm of the catalog, or an SLO's burn-rate tier. */
interface DrillSubject {
  /** The plan's alarm the drill watches: a metric alarm, or an SLO tier's composite. */
  readonly alarmName: string;
  readonly fault: DrillFault;
  readonly plan: DrillPlan;
  readonly severity: Severity;
  /** One evaluation period (the tier's long window), compressed by the time scale. */
  readonly periodMs: number;
  readonly evaluationPeriods: number;
  /**
   * How long the page composite must have been OK before the fault: as long as the drilled alarm looks back. A
   * tier looks back one long window; the page's metric alarms look back at most 15 one-minute periods, far less.
   */
  readonly lookBackMs: number;
}

/** An SLO burn-rate tier (`slo-<slo>-<tier>`), not an alarm of the catalog. */
export function isSloTierId(id: string): boolean {
  return sloTierOf(id) !== undefined;
}

/** The severity of a drillable id: a catalog alarm's, or an SLO tier's. */
export function drillSeverity(id: string): Severity {
  return sloTierOf(id)?.tier.severity ?? alarmById(id).severity;
}

/** Every id `npm run drill` accepts or explains: the catalog's alarms and each SLO's burn-rate tiers. */
export function drillableIds(): { id: string; severity: Severity; drill: string }[] {
  return [
    ...ALARMS.map((a) => ({ id: a.id, severity: a.severity, drill: 'fault' in a.drill ? `fault ${a.drill.fault}` : `not drillable: ${a.drill.notDrillable}` })),
    ...SLOS.flatMap((slo) =>
      BURN_RATE_TIERS.map((tier) => {
        const reason = 'notDrillable' in slo.drill ? slo.drill.notDrillable : tier.notDrillable;
        return { id: sloAlarmId(slo.id, tier.id), severity: tier.severity, drill: reason ? `not drillable: ${reason}` : `fault ${(slo.drill as { fault: DrillFault }).fault}` };
      }),
    ),
  ];
}

function drillSubject(stack: LocalStack, id: string): DrillSubject {
  const sloTier = sloTierOf(id);
  if (sloTier) {
    const { slo, tier } = sloTier;
    const reason = 'notDrillable' in slo.drill ? slo.drill.notDrillable : tier.notDrillable;
    if (reason) throw new Error(`${id} cannot be drilled locally: ${reason}`);
    const { fault, table: target } = slo.drill as { fault: 'dynamodb-system-error'; table: string };
    const composites = stack.plan.tagged('aws_cloudwatch_composite_alarm', 'slo', slo.id).filter((c) => (c.config.tags as Record<string, string>).tier === tier.id);
    if (composites.length !== 1) throw new Error(`the plan has ${composites.length} composite alarms for ${id}, not one`);
    return {
      alarmName: stack.plan.resolve(String(composites[0]?.config.alarm_name)),
      fault,
      // The SLO's traffic (sends) while its table fails: every send is a bad event.
      plan: { target, fault: ({ table }) => ({ kind: 'dynamodb-system-error', tableName: table(target) }), traffic: 'sends' },
      severity: tier.severity,
      periodMs: (tier.longWindowSeconds * 1000) / stack.timeScale,
      evaluationPeriods: 1,
      lookBackMs: (tier.longWindowSeconds * 1000) / stack.timeScale,
    };
  }
  const { alarmName, fault } = drillTarget(stack, id);
  const definition = alarmById(id);
  return {
    alarmName,
    fault,
    plan: PLANS[fault],
    severity: definition.severity,
    periodMs: (definition.periodSeconds * 1000) / stack.timeScale,
    evaluationPeriods: definition.evaluationPeriods,
    lookBackMs: ((definition.periodSeconds * 1000) / stack.timeScale) * (definition.evaluationPeriods + 1),
  };
}

/** The plan's alarm a drill watches: the catalog alarm's instance on the drill's target, if it has instances. */
export function drillTarget(stack: LocalStack, alarmId: string): { alarmName: string; fault: DrillFault } {
  const definition = alarmById(alarmId);
  if ('notDrillable' in definition.drill) throw new Error(`${alarmId} cannot be drilled locally: ${definition.drill.notDrillable}`);
  const { target } = PLANS[definition.drill.fault];
  const instanceName = definition.scope === 'function' ? functionNameInPlan : definition.scope === 'table' ? tableNameInPlan : undefined;
  if (instanceName && target === undefined) throw new Error(`${alarmId} has one alarm per ${definition.scope}; its drill names no target`);
  const dimension = instanceName?.(stack.plan, target as string);
  return { alarmName: alarmNameInPlan(stack.plan, alarmId, dimension), fault: definition.drill.fault };
}

/** What the stack must offer a drill: its schedules run, at most this time scale (undefined: any stack will do). */
export function drillRequirements(alarmId: string): DrillPlan['schedules'] {
  const { drill } = alarmById(alarmId);
  return 'fault' in drill ? PLANS[drill.fault].schedules : undefined;
}

export async function runDrill(stack: LocalStack, alarmId: string, report: (line: string) => void = () => undefined): Promise<DrillResult> {
  const subject = drillSubject(stack, alarmId);
  const { alarmName, fault, plan, periodMs } = subject;
  const budget = periodMs * (subject.evaluationPeriods + 2) + 30_000;
  if (plan.schedules && !(stack.runsSchedules && stack.timeScale <= plan.schedules.maxTimeScale)) {
    throw new Error(`${alarmId} needs a stack that runs its schedules at a time scale of at most ${plan.schedules.maxTimeScale} (this one: ${stack.runsSchedules ? 'runs them' : 'does not run them'}, ${stack.timeScale}x)`);
  }
  const composites = [...stack.alarms.statuses.values()].filter((s) => s.members?.includes(alarmName)).map((s) => s.name);
  // Before any traffic: an alarm already in ALARM fails the drill at once. A composite may still be settling from
  // an earlier drill's other members, so it gets the budget to return to OK.
  await requireOk(stack, [alarmName], 'before the drill', periodMs * 2 + 5000);
  // An earlier drill's fault can still be in other members' evaluation windows: the page starts from a composite
  // that has been OK for as long as this alarm looks back, so it pages once, for this drill. A stack that has had
  // no fault and no drill has nothing in any window to wait out.
  const quietMs = everDisturbed(stack) ? subject.lookBackMs : 0;
  for (const composite of composites) await waitForQuiet(stack, composite, quietMs, budget);
  const traffic = new TrafficGenerator(stack, plan.traffic, `drill-${alarmId}`);
  report(`${alarmName}: OK before the drill; starting ${plan.traffic === 'none' ? 'no user' : plan.traffic} traffic`);
  // Slow requests arrive no faster than the environments can take them, so completions (and datapoints)
  // keep coming evenly instead of in bursts. Four requests a period clear the dev stage's traffic floor.
  const everyMs = plan.everyMs ?? (fault === 'dynamodb-slow' ? 500 : Math.max(50, Math.min(500, periodMs / 4)));
  await traffic.start(everyMs);
  let injectedAt = 0;
  try {
    // The healthy traffic alone must leave the alarm OK for a whole period: the positive control of the drill.
    await new Promise((resolve) => setTimeout(resolve, periodMs * 1.5));
    await requireOk(stack, [alarmName, ...composites], 'under healthy traffic, before the fault', 0);
    const planned = plan.fault({ fn: (name) => functionNameInPlan(stack.plan, name), table: (key) => tableNameInPlan(stack.plan, key) });
    const injected: readonly Fault[] = planned === undefined ? [] : Array.isArray(planned) ? planned : [planned as Fault];
    report(`${alarmName}: OK under healthy traffic; injecting ${fault}${injected.length ? ` (${JSON.stringify(injected)})` : ''}`);
    injectedAt = Date.now();
    for (const f of injected) stack.faults.inject(f);
    const sized = faultTrafficSize(alarmId, everyMs, periodMs);
    traffic.beginFault(sized.handshakesPerTick);
    let stranding: { stop(): void } | undefined;
    if (plan.traffic === 'vanishing-members') {
      // Waves of vanishing members, one a period, until the alarm fires. One wave's pruning can straddle a period
      // boundary (sends fan out while its members are being cut), which would leave both periods under the
      // threshold; a network problem goes on cutting connections anyway.
      const wave = sized.vanishingWave;
      await traffic.strandMembers(wave);
      stranding = repeatUntilStopped(() => traffic.strandMembers(wave), periodMs, periodMs);
    }
    let ageMs = 0;
    if (plan.agesPastThreshold) {
      // A dead letter needs every async retry of a crashing function, each a fresh cold start: on a busy machine
      // that outlasts one alarm budget. The wait returns as soon as it arrives.
      await waitForDeadLetter(stack, injectedAt, 3 * budget);
      stack.faults.clear();
      traffic.stop();
      const rule = alarmById(alarmId).rule;
      if (rule.kind !== 'threshold' || typeof rule.threshold !== 'number') throw new Error(`${alarmId}: an ageing drill needs an age threshold in seconds`);
      ageMs = (rule.threshold * 1000) / stack.timeScale;
      report(`${alarmName}: a dead letter arrived; waiting for it to age past ${rule.threshold} s`);
    }
    const firedAfterMs = await waitForState(stack, alarmName, 'ALARM', budget + ageMs).finally(() => stranding?.stop());
    report(`${alarmName}: ALARM after ${firedAfterMs} ms — clearing the fault`);
    stack.faults.clear();
    // Requests a slowing fault held up may still be queued for an environment: recovery is timed from when they
    // are done, or a busy machine's backlog would be counted against the alarm's return to OK.
    if (injected.some((f) => f.kind === 'slow-fanout' || f.kind === 'dynamodb-slow')) {
      traffic.pause();
      await waitForIdle(stack, budget);
      traffic.resume();
    }
    if (plan.trafficIsTheFault) traffic.stop();
    const mitigation = plan.mitigate ? repeatUntilStopped(() => (plan.mitigate as NonNullable<DrillPlan['mitigate']>)(stack), 1000) : undefined;
    const recoveredAfterMs = await waitForState(stack, alarmName, 'OK', budget).finally(() => mitigation?.stop());
    report(`${alarmName}: OK after ${recoveredAfterMs} ms`);
    for (const composite of composites) await waitForState(stack, composite, 'OK', budget);
    return { alarm: alarmName, fault, composites, injectedAt, firedAfterMs, recoveredAfterMs };
  } finally {
    stack.faults.clear();
    traffic.stop();
    drilled.add(stack);
  }
}

/** Stacks a drill has run on: a drill's fault can be its traffic alone (forged tokens, a flood). */
const drilled = new WeakSet<LocalStack>();

/** Whether this stack ever had a fault in force or a drill run on it. */
function everDisturbed(stack: LocalStack): boolean {
  return stack.faults.hasHadFaults() || drilled.has(stack);
}
