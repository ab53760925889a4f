import { ChatError } from '../domain/errors.ts';
import { latestAdmittedArrival, tokenRetryAfterMs } from '../domain/token-bucket.ts';
import type { Caller, Deps } from './context.ts';

/** Attempts per request: another is only needed when a concurrent request of the connection moved the bucket. */
const MAX_TAKE_ATTEMPTS = 3;

/**
 * Charges one request of `route` to the calling connection's token bucket; a connection out of tokens gets
 * RATE_LIMITED with the wait until its next token. Routes without a configured rate are not limited here.
 */
export async function chargeRoute(deps: Deps, caller: Caller, route: string): Promise<void> {
  const rate = deps.routeRate;
  if (!rate) return;
  for (let attempt = 0; attempt < MAX_TAKE_ATTEMPTS; attempt++) {
    if (await deps.store.takeRouteToken(caller, route, rate, caller.nowMs)) return;
    const arrival = await deps.store.readRouteArrival(caller.connectionId, route);
    if (arrival !== undefined && arrival > latestAdmittedArrival(rate, caller.nowMs)) {
      const retryAfterMs = tokenRetryAfterMs(rate, arrival, caller.nowMs);
      deps.telemetry.count('RouteRateLimited');
      throw new ChatError(
        'RATE_LIMITED',
        `at most ${rate.burst} ${route} requests at once and ${rate.ratePerSecond} per second on one connection; retry in ${retryAfterMs} ms`,
        true,
        retryAfterMs,
      );
    }
  }
  throw new ChatError('INTERNAL', `the ${route} rate bucket kept changing under concurrent requests; retry`, true);
}
