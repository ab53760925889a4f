import { ChatError } from '../domain/errors.ts';
import { isWindowFull, retryAfterMs } from '../domain/rate-limit.ts';
import type { Caller, Deps } from './context.ts';

export type SendCharge = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** Attempts per charge: a second one is only ever needed when a concurrent send opened the window first. */
const MAX_CHARGE_ATTEMPTS = 3;

/**
 * Counts one send against the connection's rate window with single-item conditional writes: count it in the
 * open window; else open a new window with it; if both lose, the window is open — refuse when it is full,
 * otherwise another send opened it a moment ago and counting is tried again.
 */
export async function chargeSend(deps: Deps, caller: Caller): Promise<SendCharge> {
  const { store, sendRate } = deps;
  for (let attempt = 0; attempt < MAX_CHARGE_ATTEMPTS; attempt++) {
    if (await store.countSendInWindow(caller, sendRate, caller.nowMs)) return { allowed: true };
    if (await store.openSendWindow(caller, sendRate, caller.nowMs)) return { allowed: true };
    const window = await store.readSendWindow(caller.connectionId);
    if (window && isWindowFull(sendRate, window, caller.nowMs)) {
      return { allowed: false, retryAfterMs: retryAfterMs(sendRate, window.start, caller.nowMs) };
    }
  }
  throw new ChatError('INTERNAL', 'the send rate window kept changing under concurrent sends; retry', true);
}
