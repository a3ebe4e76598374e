import type { Clock, Timer } from '../../src/transport/clock.js';

/** A clock that moves only when told: timers fire in deadline order during `advance`. */
export class ManualClock implements Clock {
  #now = 1_000_000;
  readonly #timers = new Set<{ deadlineUs: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  timer(fn: () => void): Timer {
    const timers = this.#timers;
    const now = (): number => this.#now;
    const entry = { deadlineUs: Infinity, fn };
    return {
      arm(delayUs: number) {
        entry.deadlineUs = now() + Math.max(0, delayUs);
        timers.add(entry);
      },
      cancel() {
        entry.deadlineUs = Infinity;
        timers.delete(entry);
      },
      get armed() {
        return timers.has(entry);
      },
      get deadlineUs() {
        return entry.deadlineUs;
      },
    };
  }

  setTimer(delayUs: number, fn: () => void): Timer {
    const t = this.timer(fn);
    t.arm(delayUs);
    return t;
  }

  defer(fn: () => void): void {
    queueMicrotask(fn);
  }

  /** Moves time forward by `us`, firing every timer that comes due on the way. */
  advance(us: number): void {
    const end = this.#now + us;
    for (;;) {
      let next: { deadlineUs: number; fn: () => void } | undefined;
      for (const t of this.#timers) if (t.deadlineUs <= end && (next === undefined || t.deadlineUs < next.deadlineUs)) next = t;
      if (next === undefined) break;
      this.#now = next.deadlineUs;
      this.#timers.delete(next);
      next.fn();
    }
    this.#now = end;
  }
}
