/**
 * Crowds for drills and tests: many connections spread over distinct users, as a real room is filled, each user
 * holding at most the connections the plan lets one user hold (the connect function's CONNECTIONS_PER_USER), so
 * the per-user limit refuses none and presence is announced once per user rather than once per connection.
 */
import { ENV } from '../functions/catalog/env.ts';
import { functionNameInPlan } from './plan-names.ts';
import type { LocalStack } from './stack.ts';

/** The connections one user may hold on this stack, as its plan gives the connect function. */
export function connectionsPerUserInPlan(stack: Pick<LocalStack, 'plan' | 'functionEnvironment'>): number {
  const perUser = Number(stack.functionEnvironment(functionNameInPlan(stack.plan, 'connect'))[ENV.connectionsPerUser]);
  if (!(perUser > 0)) throw new Error(`the plan's connect function has no ${ENV.connectionsPerUser}`);
  return perUser;
}

/** The user holding a crowd's `index`th connection: `<prefix>-0` holds the first `perUser`, `<prefix>-1` the next. */
export function crowdUser(prefix: string, index: number, perUser: number): string {
  return `${prefix}-${Math.floor(index / perUser)}`;
}
