/**
 * What each client action makes AWS do, measured on a running local stack: Lambda invocations and billed
 * milliseconds per function, API Gateway messages and connects, DynamoDB request units per table (as DynamoDB
 * reports them for the items' sizes, local/dynamodb-proxy.ts), log bytes. Each action runs with every other one
 * idle, and its work is the difference of the stack's totals before and after, once every invocation it caused
 * (asynchronous fan-out shards included) has ended.
 */
import WebSocket from 'ws';
import { connectionsPerUserInPlan, crowdUser } from '../../local/crowd.ts';
import type { LocalStack } from '../../local/stack.ts';
import { MEASURED_ROOM_SIZES, type ActionMeasurement } from './coefficients.ts';

type Frame = Record<string, unknown> & { type?: string };

/** A minimal chat connection: sends a frame and waits for the answer of a type (an error frame fails it). */
class Connection {
  private readonly waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const at = this.waiters.findIndex((w) => w.match(frame));
      if (at >= 0) this.waiters.splice(at, 1)[0]!.resolve(frame);
    });
  }

  static open(url: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Connection(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused with ${res.statusCode}`)));
    });
  }

  request(frame: Frame, type: string): Promise<Frame> {
    const answer = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} frame answered ${JSON.stringify(frame)}`)), 120_000);
      this.waiters.push({
        // API Gateway's own error frame has no type, only a message.
        match: (f) => f.type === type || f.type === 'error' || (f.type === undefined && 'message' in f),
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
    this.ws.send(JSON.stringify(frame));
    return answer.then((f) => {
      if (f.type !== type) throw new Error(`${JSON.stringify(frame)} was answered ${JSON.stringify(f)}`);
      return f;
    });
  }

  /** Sends a frame that has no answer. */
  post(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The stack's totals since it started, by the series the cost model prices. */
function totals(stack: LocalStack, logBytes: number): Record<string, number> {
  const out: Record<string, number> = { 'logs.bytes': logBytes };
  const add = (name: string, value: number) => (out[name] = (out[name] ?? 0) + value);
  const everything = [0, Number.MAX_SAFE_INTEGER] as const;
  for (const key of stack.metrics.keys()) {
    const sum = stack.metrics.stat(key, 'Sum', ...everything) ?? 0;
    const count = stack.metrics.stat(key, 'SampleCount', ...everything) ?? 0;
    const { TableName: table, RouteKey: route } = key.dimensions;
    // A function's own series only: an alias's invocations are also published by Resource and ExecutedVersion.
    const dimensionNames = Object.keys(key.dimensions);
    const fn = dimensionNames.length === 1 ? key.dimensions.FunctionName : undefined;
    if (key.namespace === 'AWS/Lambda' && fn && key.name === 'Invocations') add(`lambda.invocations.${fn}`, sum);
    // Lambda bills each invocation's duration rounded up to the millisecond.
    if (key.namespace === 'AWS/Lambda' && fn && key.name === 'Duration') add(`lambda.billedMs.${fn}`, Math.ceil(sum) + count);
    if (key.namespace === 'AWS/ApiGateway' && !route && (key.name === 'MessageCount' || key.name === 'ConnectCount')) add(`apigateway.${key.name}`, sum);
    if (key.namespace === 'AWS/DynamoDB' && table && key.name === 'ConsumedReadCapacityUnits') {
      add(`dynamodb.readUnits.${table}`, sum);
      add(`dynamodb.reads.${table}`, count);
    }
    if (key.namespace === 'AWS/DynamoDB' && table && key.name === 'ConsumedWriteCapacityUnits') {
      add(`dynamodb.writeUnits.${table}`, sum);
      add(`dynamodb.writes.${table}`, count);
    }
  }
  return out;
}

function difference(after: Record<string, number>, before: Record<string, number>): ActionMeasurement {
  return Object.fromEntries(
    Object.keys(after)
      .map((k) => [k, Math.round((after[k]! - (before[k] ?? 0)) * 1000) / 1000] as const)
      .filter(([, v]) => v !== 0)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Until no invocation runs, twice in a row a little apart: an asynchronous shard starts after its sender ends. */
async function settled(stack: LocalStack): Promise<void> {
  for (let quiet = 0; quiet < 2; ) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    quiet = stack.invocationsInFlight() === 0 ? quiet + 1 : 0;
  }
}

export interface MeasurementRun {
  readonly actions: Record<string, ActionMeasurement>;
  /** Custom metric series (namespace, name and dimensions) the functions published during the run. */
  readonly customMetricSeries: number;
}

/**
 * Runs every measured action on `stack`, whose log sink adds each line's bytes to `logBytes()`. Sends, typing,
 * a new user's join and that user's disconnect are measured in rooms of each of `roomSizes` members.
 */
export async function measureActions(
  stack: LocalStack,
  logBytes: () => number,
  roomSizes: readonly number[] = MEASURED_ROOM_SIZES,
  progress: (action: string, work: ActionMeasurement) => void = () => undefined,
): Promise<MeasurementRun> {
  const connections: Connection[] = [];
  const perUser = connectionsPerUserInPlan(stack);
  const open = async (user: string) => {
    const connection = await Connection.open(`${stack.url}?token=${encodeURIComponent(await stack.idp.mint(user))}`);
    connections.push(connection);
    return connection;
  };
  const actions: Record<string, ActionMeasurement> = {};
  const measure = async (action: string, run: () => Promise<unknown>) => {
    await settled(stack);
    const before = totals(stack, logBytes());
    await run();
    await settled(stack);
    actions[action] = difference(totals(stack, logBytes()), before);
    progress(action, actions[action]);
  };
  try {
    let sender!: Connection;
    await measure('connect', async () => (sender = await open('sender')));
    await measure('ping', () => sender.request({ action: 'ping' }, 'pong'));
    for (const size of roomSizes) {
      const room = `room-${size}`;
      await sender.request({ action: 'join', room }, 'joined');
      // A crowd fills the room, each user with as many connections as the plan lets one user hold (fewer presence
      // changes than one user per connection), in batches a 2-core machine takes. A filling join that times out on
      // a busy machine is tried again (a join is idempotent); measured ones are not.
      const fill = async (index: number) => {
        const member = await open(crowdUser(`crowd-${size}`, index, perUser));
        for (let attempt = 1; ; attempt++) {
          try {
            return await member.request({ action: 'join', room }, 'joined');
          } catch (error) {
            if (attempt === 3) throw error;
          }
        }
      };
      for (let filled = 2; filled < size; filled += 10) {
        await Promise.all(Array.from({ length: Math.min(10, size - filled) }, (_, i) => fill(filled - 2 + i)));
      }
      // The room's last member: a user of their own, so their join and disconnect announce presence to the others.
      let newcomer!: Connection;
      await measure(`connect+join.${size}`, async () => {
        newcomer = await open(`newcomer-${size}`);
        await newcomer.request({ action: 'join', room }, 'joined');
      });
      actions[`join.${size}`] = difference(actions[`connect+join.${size}`]!, actions.connect!);
      delete actions[`connect+join.${size}`];
      await measure(`send.${size}`, () => sender.request({ action: 'send', room, text: 'x'.repeat(100), clientMsgId: `m-${size}` }, 'ack'));
      await measure(`typing.${size}`, async () => sender.post({ action: 'typing', room }));
      await measure(`history.${size}`, () => sender.request({ action: 'history', room }, 'history'));
      await measure(`disconnect.${size}`, () => newcomer.close());
    }
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
  const customMetricSeries = stack.metrics.keys().filter((key) => key.namespace === 'WsChat').length;
  return { actions, customMetricSeries };
}
