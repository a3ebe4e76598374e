/**
 * Time for code that must run both in simulation and for real.
 *
 * Times are microseconds as plain numbers (fractions allowed): a double holds
 * whole microseconds exactly for 285 years, and avoids bigint costs on every
 * ACK. A transport written against `Clock` runs deterministically on the
 * `Simulator` (which is a `Clock`) and in real time on `realClock()`.
 */
export interface Clock {
  /** The current time in microseconds; monotonic, with an arbitrary origin. */
  now(): number;
  /** A reusable timer that calls `fn` when it expires; created disarmed. */
  timer(fn: () => void): Timer;
  /** A one-shot timer: `timer(fn)` armed `delayUs` from now. */
  setTimer(delayUs: number, fn: () => void): Timer;
  /** Runs `fn` soon, after the current callback, without letting time pass in simulation. */
  defer(fn: () => void): void;
}

/**
 * A timer that can be re-armed cheaply. Pushing the deadline later (what an
 * RTO timer does on every ACK) costs no queue operation: the pending expiry
 * notices the new deadline and re-queues itself once, when it comes due.
 */
export interface Timer {
  /** Fires once, `delayUs` from now (negative counts as 0), replacing any deadline set before. */
  arm(delayUs: number): void;
  /** Disarms the timer; it can be armed again. */
  cancel(): void;
  readonly armed: boolean;
  /** When the timer will fire, in clock microseconds; `Infinity` while disarmed. */
  readonly deadlineUs: number;
}

export interface RealClockOptions {
  /** Timers do not keep the process alive (Node `unref`). Default false. */
  unref?: boolean;
}

/**
 * Node timers have millisecond granularity and measure time with a loop clock
 * cached per event-loop turn, so they may fire up to a millisecond before the
 * `performance.now()` deadline; an expiry this close counts as due.
 */
const REAL_SLACK_US = 1000;

class RealTimer implements Timer {
  #deadline = Infinity;
  /** When the pending `setTimeout` expires, Infinity if none. */
  #scheduledAt = Infinity;
  #handle: NodeJS.Timeout | undefined;
  readonly #fn: () => void;
  readonly #unref: boolean;

  constructor(fn: () => void, unref: boolean) {
    this.#fn = fn;
    this.#unref = unref;
  }

  get armed(): boolean {
    return this.#deadline !== Infinity;
  }

  get deadlineUs(): number {
    return this.#deadline;
  }

  arm(delayUs: number): void {
    const now = nowUs();
    this.#deadline = now + Math.max(0, delayUs);
    if (this.#deadline < this.#scheduledAt) {
      if (this.#handle !== undefined) clearTimeout(this.#handle);
      this.#schedule(now);
    }
  }

  cancel(): void {
    this.#deadline = Infinity;
    // Cleared at once (not lazily) so a disarmed timer never holds the process open.
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#scheduledAt = Infinity;
  }

  #schedule(now: number): void {
    this.#scheduledAt = this.#deadline;
    this.#handle = setTimeout(this.#expire, Math.ceil((this.#deadline - now) / 1000));
    if (this.#unref) this.#handle.unref();
  }

  readonly #expire = (): void => {
    this.#handle = undefined;
    this.#scheduledAt = Infinity;
    if (this.#deadline === Infinity) return;
    const now = nowUs();
    if (this.#deadline - now > REAL_SLACK_US) {
      this.#schedule(now);
      return;
    }
    this.#deadline = Infinity;
    this.#fn();
  };
}

function nowUs(): number {
  return performance.now() * 1000;
}

/** The wall clock: `performance.now()` and Node timers. */
export function realClock(opts: RealClockOptions = {}): Clock {
  const unref = opts.unref ?? false;
  return {
    now: nowUs,
    timer: (fn) => new RealTimer(fn, unref),
    setTimer(delayUs, fn) {
      const t = new RealTimer(fn, unref);
      t.arm(delayUs);
      return t;
    },
    defer(fn) {
      const h = setImmediate(fn);
      if (unref) h.unref();
    },
  };
}
