/**
 * Faults the local stack can inject to prove alarms fire and clients recover. Each is produced as close to
 * the real failure as one machine allows; the two that can only be answered on the dependency's behalf
 * (DynamoDB throttling and 5xx, @connections 5xx) say so where they are produced.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Fault =
  | { readonly kind: 'dynamodb-unreachable' }
  | { readonly kind: 'dynamodb-slow'; readonly delayMs: number }
  /** DynamoDB throttles and errors are per table: `tableName` limits the fault to one (default: every table). */
  | { readonly kind: 'dynamodb-throttle'; readonly tableName?: string }
  | { readonly kind: 'dynamodb-system-error'; readonly tableName?: string }
  /** `version` limits the crash to one published version (a bad deploy: the local stack runs one bundle per function). */
  | { readonly kind: 'function-crash'; readonly functionName: string; readonly version?: string }
  | { readonly kind: 'function-throttle'; readonly functionName: string }
  | { readonly kind: 'slow-fanout'; readonly delayMs: number }
  /** `@connections` answers 500 to `method` (default POST, what the drill fails); GET fails `$connect`'s slot lookups. */
  | { readonly kind: 'connections-api-error'; readonly method?: ConnectionsMethod }
  | { readonly kind: 'lost-disconnects' }
  /** Sends to SQS queues from inside the stack (Lambda's on-failure destinations) fail. */
  | { readonly kind: 'sqs-unreachable' };

export type FaultKind = Fault['kind'];

const CONNECTIONS_METHODS = ['POST', 'GET', 'DELETE'] as const;
export type ConnectionsMethod = (typeof CONNECTIONS_METHODS)[number];

const KINDS: readonly FaultKind[] = [
  'dynamodb-unreachable',
  'dynamodb-slow',
  'dynamodb-throttle',
  'dynamodb-system-error',
  'function-crash',
  'function-throttle',
  'slow-fanout',
  'connections-api-error',
  'lost-disconnects',
  'sqs-unreachable',
];

export class FaultController {
  private readonly active = new Map<FaultKind, Fault>();
  private readonly listeners: ((kind: FaultKind, on: boolean) => void)[] = [];
  private everInjected = false;

  inject(fault: Fault): void {
    this.active.set(fault.kind, fault);
    this.everInjected = true;
    for (const listener of this.listeners) listener(fault.kind, true);
  }

  clear(kind?: FaultKind): void {
    for (const k of kind ? [kind] : [...this.active.keys()]) {
      if (this.active.delete(k)) {
        for (const listener of this.listeners) listener(k, false);
      }
    }
  }

  /** Whether any fault was ever injected on this stack (a drill waits out alarm windows only after one). */
  hasHadFaults(): boolean {
    return this.everInjected;
  }

  get<K extends FaultKind>(kind: K): Extract<Fault, { kind: K }> | undefined {
    return this.active.get(kind) as Extract<Fault, { kind: K }> | undefined;
  }

  list(): Fault[] {
    return [...this.active.values()];
  }

  onChange(listener: (kind: FaultKind, on: boolean) => void): void {
    this.listeners.push(listener);
  }
}

/** Validates a fault sent to the HTTP API; the error names what is wrong. */
export function parseFault(input: unknown): Fault {
  const f = input as Record<string, unknown> | null;
  if (!f || typeof f !== 'object' || !KINDS.includes(f.kind as FaultKind)) {
    throw new Error(`kind must be one of: ${KINDS.join(', ')}`);
  }
  const kind = f.kind as FaultKind;
  if ((kind === 'dynamodb-slow' || kind === 'slow-fanout') && !(Number.isInteger(f.delayMs) && (f.delayMs as number) > 0)) {
    throw new Error(`${kind} needs delayMs, a positive whole number`);
  }
  if ((kind === 'function-crash' || kind === 'function-throttle') && (typeof f.functionName !== 'string' || !f.functionName)) {
    throw new Error(`${kind} needs functionName`);
  }
  if (kind === 'function-crash' && f.version !== undefined && (typeof f.version !== 'string' || !/^[1-9][0-9]*$/.test(f.version))) {
    throw new Error(`${kind}: version, when given, must be a published version number`);
  }
  if ((kind === 'dynamodb-throttle' || kind === 'dynamodb-system-error') && f.tableName !== undefined && (typeof f.tableName !== 'string' || !f.tableName)) {
    throw new Error(`${kind}: tableName, when given, must be a table's name`);
  }
  if (kind === 'connections-api-error' && f.method !== undefined && !CONNECTIONS_METHODS.includes(f.method as ConnectionsMethod)) {
    throw new Error(`${kind}: method, when given, must be one of ${CONNECTIONS_METHODS.join(', ')}`);
  }
  return f as unknown as Fault;
}

/** `GET|POST|DELETE /_local/faults`: inspect, inject and clear faults of a running local stack. */
export function faultsHandler(faults: FaultController) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/_local/faults') return false;
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET') return void reply(200, faults.list()), true;
    if (req.method === 'DELETE') {
      const kind = url.searchParams.get('kind') ?? undefined;
      faults.clear(kind as FaultKind | undefined);
      return void reply(200, faults.list()), true;
    }
    if (req.method !== 'POST') return void reply(405, { message: 'use GET, POST or DELETE' }), true;
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      try {
        faults.inject(parseFault(JSON.parse(body)));
        reply(200, faults.list());
      } catch (error) {
        reply(400, { message: (error as Error).message });
      }
    });
    return true;
  };
}
