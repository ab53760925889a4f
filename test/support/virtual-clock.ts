/** A clock that moves only when the test moves it: limits measured on it cannot expire behind a busy test's back. */
export interface VirtualClock {
  /** Bound, so it can be handed over as a `() => number`. */
  readonly now: () => number;
  advance(ms: number): void;
}

export function virtualClock(start = Date.now()): VirtualClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      if (!(ms >= 0)) throw new Error(`a clock only moves forward; got ${ms} ms`);
      current += ms;
    },
  };
}
