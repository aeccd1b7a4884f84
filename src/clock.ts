/** The time source. Policy and pricing code take it as a parameter so tests can move it. */
export type Clock = { now(): number };

/** Wall-clock time. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to, for tests. */
export function fakeClock(
  startMs: number,
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms) => {
      nowMs += ms;
    },
    set: (ms) => {
      nowMs = ms;
    },
  };
}
