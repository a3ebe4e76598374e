import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { InvalidArgumentError, mulberry32, throwIfAborted } from '@bertha/core';
import type { Clock, Timer } from '@bertha/ccp';
import { EventQueue, type TimerSlot } from './event-queue.js';

export interface SimulatorOptions {
  /** Seed of every random stream handed out by `rng()`. Default 1. */
  seed?: number;
  /** The clock's initial time in microseconds. Default 0. */
  startUs?: number;
}

export interface RunOptions {
  /** Runs events due at or before this time, then sets the clock to it. Default: until no events remain. */
  untilUs?: number;
  /** Stops after this many callbacks. Default: no limit. */
  maxEvents?: number;
}

export interface RunResult {
  /** Callbacks run by this call. */
  readonly events: number;
  /** The clock after the run. */
  readonly nowUs: number;
  /** True when the run stopped because no events were left. */
  readonly idle: boolean;
}

type Enqueue = (t: number, slot: SimTimer) => void;

class SimTimer implements Timer, TimerSlot {
  queuedAt = Infinity;
  deadline = Infinity;
  readonly fn: () => void;
  readonly #sim: Simulator;
  readonly #enqueue: Enqueue;

  constructor(sim: Simulator, enqueue: Enqueue, fn: () => void) {
    this.#sim = sim;
    this.#enqueue = enqueue;
    this.fn = fn;
  }

  get armed(): boolean {
    return this.deadline !== Infinity;
  }

  get deadlineUs(): number {
    return this.deadline;
  }

  arm(delayUs: number): void {
    const t = this.#sim.now() + (delayUs > 0 ? delayUs : 0);
    if (!(t < Infinity)) throw new InvalidArgumentError(`timer delay must be a finite number of microseconds, got ${delayUs}`);
    this.deadline = t;
    // A queued expiry at or before the deadline will re-queue itself: nothing to do.
    if (t < this.queuedAt) this.#enqueue(t, this);
  }

  cancel(): void {
    this.deadline = Infinity;
  }
}

/**
 * A discrete-event simulator; it is also the virtual `Clock` that code under
 * simulation runs on. Events are callbacks ordered by (time, scheduling
 * order), so the same program and seed always produce the same run. Time only
 * moves when `run`/`step` take the next event, so a simulated minute costs
 * what its events cost.
 */
export class Simulator implements Clock {
  readonly #queue = new EventQueue();
  readonly #seed: number;
  #now: number;
  #seq = 0;
  #events = 0;
  #streams = 0;
  #running = false;

  constructor(opts: SimulatorOptions = {}) {
    this.#seed = opts.seed ?? 1;
    this.#now = opts.startUs ?? 0;
    if (!Number.isFinite(this.#now)) throw new InvalidArgumentError(`startUs must be finite, got ${this.#now}`);
  }

  now(): number {
    return this.#now;
  }

  /** Callbacks run since the simulator was created. */
  get events(): number {
    return this.#events;
  }

  /** Entries in the event queue, including expiries of timers since re-armed or cancelled. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Schedules `fn` at absolute time `timeUs` (not in the past). */
  at(timeUs: number, fn: () => void): void {
    if (!(timeUs >= this.#now && timeUs < Infinity)) {
      throw new InvalidArgumentError(`cannot schedule at ${timeUs} µs: the clock is at ${this.#now} µs; pass a finite time not in the past`);
    }
    this.#queue.push(timeUs, this.#seq++, fn);
  }

  /** Schedules `fn` `delayUs` from now (negative counts as 0). */
  after(delayUs: number, fn: () => void): void {
    this.at(this.#now + (delayUs > 0 ? delayUs : 0), fn);
  }

  defer(fn: () => void): void {
    this.#queue.push(this.#now, this.#seq++, fn);
  }

  timer(fn: () => void): Timer {
    return new SimTimer(this, this.#enqueueTimer, fn);
  }

  setTimer(delayUs: number, fn: () => void): Timer {
    const t = new SimTimer(this, this.#enqueueTimer, fn);
    t.arm(delayUs);
    return t;
  }

  /**
   * A new random stream in [0, 1), seeded from the simulator's seed and the
   * order of the calls, so each component draws from its own stream and adding
   * one does not shift the numbers the others see.
   */
  rng(): () => number {
    const stream = ++this.#streams;
    return mulberry32((this.#seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0);
  }

  /** Runs the next event; false when none is left. */
  step(): boolean {
    return this.run({ maxEvents: 1 }).events === 1;
  }

  /** Runs events in order until the queue is empty, `untilUs` is reached, or `maxEvents` ran. */
  run(opts: RunOptions = {}): RunResult {
    const until = opts.untilUs ?? Infinity;
    const max = opts.maxEvents ?? Infinity;
    if (!(until >= this.#now)) throw new InvalidArgumentError(`untilUs ${until} is before the current time ${this.#now} µs`);
    if (this.#running) throw new InvalidArgumentError('run() was called from inside an event: schedule work with at()/after() instead');
    this.#running = true;
    const before = this.#events;
    try {
      this.#drain(until, before + max);
    } finally {
      this.#running = false;
    }
    return this.#result(before, until);
  }

  /**
   * Like `run`, but lets promise continuations settle before time moves on, so
   * async code (a Conn, `await`-based loops) runs under simulation. Between two
   * distinct event times it yields once to the Node event loop, which drains
   * every pending microtask; do no real I/O meanwhile or the run stops being
   * reproducible. Much slower than `run` per event.
   */
  async runAsync(opts: RunOptions & { signal?: AbortSignal } = {}): Promise<RunResult> {
    const until = opts.untilUs ?? Infinity;
    const max = opts.maxEvents ?? Infinity;
    if (!(until >= this.#now)) throw new InvalidArgumentError(`untilUs ${until} is before the current time ${this.#now} µs`);
    if (this.#running) throw new InvalidArgumentError('the simulator is already running');
    this.#running = true;
    const before = this.#events;
    try {
      await yieldToLoop();
      for (;;) {
        throwIfAborted(opts.signal);
        const next = this.#queue.nextTime;
        if (this.#queue.size === 0 || next > until || this.#events - before >= max) break;
        // Only this instant's events: continuations they start run at the same time.
        this.#drain(next, before + max);
        await yieldToLoop();
      }
    } finally {
      this.#running = false;
    }
    return this.#result(before, until);
  }

  #result(before: number, until: number): RunResult {
    const idle = this.#queue.size === 0;
    if (until !== Infinity && this.#queue.nextTime > until) this.#now = until;
    return { events: this.#events - before, nowUs: this.#now, idle };
  }

  /** Runs events due at or before `until` while fewer than `stopAt` callbacks ran in total. */
  #drain(until: number, stopAt: number): void {
    const q = this.#queue;
    for (;;) {
      if (this.#events >= stopAt) return;
      const t = q.nextTime;
      if (q.size === 0 || t > until) return;
      const item = q.pop()!;
      this.#now = t;
      if (typeof item === 'function') {
        this.#events++;
        item();
        continue;
      }
      const timer = item as SimTimer;
      // An entry superseded by an earlier re-arm.
      if (t !== timer.queuedAt) continue;
      timer.queuedAt = Infinity;
      if (timer.deadline === Infinity) continue;
      if (timer.deadline > t) {
        this.#enqueueTimer(timer.deadline, timer);
        continue;
      }
      timer.deadline = Infinity;
      this.#events++;
      timer.fn();
    }
  }

  readonly #enqueueTimer = (t: number, slot: SimTimer): void => {
    slot.queuedAt = t;
    this.#queue.push(t, this.#seq++, slot);
  };
}
