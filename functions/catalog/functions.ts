/**
 * The one route table and function catalog. Infra generates routes, integrations, functions and their IAM
 * policies from it; handlers read the action list from it; the local runtime sees it through the plan.
 */
import type { TableKey } from './tables.ts';

export type DynamoAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query';

export interface TableGrant {
  readonly table: TableKey;
  readonly actions: readonly DynamoAction[];
  /** Query on these secondary indexes (their ARNs are granted separately from the table's). */
  readonly indexes?: readonly string[];
}

export interface FunctionSpec {
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly tables: readonly TableGrant[];
  /** Needs `execute-api:ManageConnections` on this stage (replies and fan-out go through `@connections`). */
  readonly manageConnections: boolean;
}

// A gone connection is removed with its memberships, so every route that delivers frames needs these grants.
const pruneGrants: readonly TableGrant[] = [
  { table: 'connections', actions: ['DeleteItem'] },
  { table: 'memberships', actions: ['DeleteItem', 'Query'], indexes: ['byConnection'] },
];

export const FUNCTIONS = {
  authorizer: {
    description: 'Verifies the JWT in the token query parameter on $connect',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [],
    manageConnections: false,
  },
  connect: {
    description: 'Records a new connection',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [{ table: 'connections', actions: ['PutItem'] }],
    manageConnections: false,
  },
  disconnect: {
    description: 'Removes a connection and its room memberships',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: pruneGrants,
    manageConnections: false,
  },
  default: {
    description: 'Answers frames that match no route',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [],
    manageConnections: true,
  },
  join: {
    description: 'Joins a room',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [
      { table: 'memberships', actions: ['PutItem', 'Query'] },
      { table: 'messages', actions: ['Query'] },
    ],
    manageConnections: true,
  },
  leave: {
    description: 'Leaves a room',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [{ table: 'memberships', actions: ['DeleteItem'] }],
    manageConnections: true,
  },
  send: {
    description: 'Stores a message once and fans it out to the room',
    timeoutSeconds: 29,
    memoryMb: 512,
    tables: [
      { table: 'memberships', actions: ['GetItem', 'Query', 'DeleteItem'], indexes: ['byConnection'] },
      { table: 'connections', actions: ['DeleteItem'] },
      { table: 'rooms', actions: ['GetItem', 'UpdateItem'] },
      { table: 'messages', actions: ['GetItem', 'PutItem'] },
      { table: 'idempotency', actions: ['GetItem', 'PutItem', 'UpdateItem'] },
    ],
    manageConnections: true,
  },
  history: {
    description: 'Pages through a room history',
    timeoutSeconds: 10,
    memoryMb: 256,
    tables: [
      { table: 'memberships', actions: ['GetItem'] },
      { table: 'messages', actions: ['Query'] },
    ],
    manageConnections: true,
  },
  ping: {
    description: 'Answers a heartbeat',
    timeoutSeconds: 5,
    memoryMb: 128,
    tables: [],
    manageConnections: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

export interface Route {
  readonly routeKey: string;
  readonly function: Exclude<FunctionName, 'authorizer'>;
}

/** `$request.body.action` selects a route; anything else (or no JSON) lands on `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

export const ROUTES: readonly Route[] = [
  { routeKey: '$connect', function: 'connect' },
  { routeKey: '$disconnect', function: 'disconnect' },
  { routeKey: '$default', function: 'default' },
  { routeKey: 'join', function: 'join' },
  { routeKey: 'leave', function: 'leave' },
  { routeKey: 'send', function: 'send' },
  { routeKey: 'history', function: 'history' },
  { routeKey: 'ping', function: 'ping' },
];

/** Client-facing actions: every route that is not one of API Gateway's `$` routes. */
export const ACTIONS: readonly string[] = ROUTES.filter((r) => !r.routeKey.startsWith('$')).map((r) => r.routeKey);

/** The authorizer reads the JWT from this query parameter; API Gateway answers 401 when it is missing. */
export const TOKEN_QUERY_PARAMETER = 'token';
