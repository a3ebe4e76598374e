/**
 * A scheduler drained at a rate: the sendbox's rate limiter, and (at a fixed
 * rate) an in-network fair-queueing bottleneck. Packets leave no faster than
 * `rate` bytes/s and only while `gate()` allows (the sendbox's window); a
 * closed gate waits for `kick()`. A packet is handed on when its
 * transmission starts; add its serialisation to the next hop's delay if it
 * matters.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { Clock, Timer } from '@bertha/ccp';
import type { Packet } from '../link/link.js';
import type { Scheduler } from './scheduler.js';

export interface PacedQueueOptions {
  /** Bytes/s; Infinity sends at once. Default Infinity. */
  readonly rate?: number;
  /** Called before each packet: false holds the queue until `kick()`. */
  readonly gate?: () => boolean;
  /**
   * How late (µs) a send may be and still be made up at once. Default 0:
   * exact timers (the simulator's) never need it. On a real event loop
   * timers fire a millisecond or more late, and without credit each firing
   * would send one packet: the rate would be capped near one packet per
   * millisecond.
   */
  readonly catchUpUs?: number;
}

export class PacedQueue<P extends Packet> {
  readonly scheduler: Scheduler<P>;
  #rate: number;
  #nextAt = -Infinity;
  readonly #catchUp: number;
  readonly #clock: Clock;
  readonly #out: (p: P) => void;
  readonly #gate: (() => boolean) | undefined;
  readonly #timer: Timer;

  constructor(clock: Clock, scheduler: Scheduler<P>, out: (p: P) => void, opts: PacedQueueOptions = {}) {
    this.#clock = clock;
    this.scheduler = scheduler;
    this.#out = out;
    this.#gate = opts.gate;
    this.#rate = checkRate(opts.rate ?? Infinity);
    this.#catchUp = opts.catchUpUs ?? 0;
    if (!(this.#catchUp >= 0)) throw new InvalidArgumentError(`catchUpUs must be a non-negative number of µs, got ${this.#catchUp}`);
    this.#timer = clock.timer(() => this.kick());
  }

  get rate(): number {
    return this.#rate;
  }

  set rate(bytesPerSec: number) {
    this.#rate = checkRate(bytesPerSec);
    // A lower rate applies from the next packet; a higher one may let the next leave sooner.
    this.#timer.cancel();
    this.kick();
  }

  /** Queues `p` of flow `flow`; false if the scheduler dropped it. */
  enqueue(p: P, flow: number): boolean {
    // Catching up is for a backlog whose timer fired late, not credit for an idle spell.
    if (this.scheduler.packets === 0 && this.#nextAt < this.#clock.now()) this.#nextAt = this.#clock.now();
    const ok = this.scheduler.enqueue(p, flow);
    if (!this.#timer.armed) this.kick();
    return ok;
  }

  /** Sends what the rate and the gate allow now, and arms the timer for the next packet. */
  kick(): void {
    const now = this.#clock.now();
    while (this.scheduler.packets > 0) {
      if (this.#nextAt > now) {
        if (!this.#timer.armed) this.#timer.arm(this.#nextAt - now);
        return;
      }
      if (this.#gate !== undefined && !this.#gate()) return;
      const p = this.scheduler.dequeue()!;
      // Credit does not accumulate while idle (beyond `catchUpUs`): a burst after a pause still leaves at `rate`.
      this.#nextAt = Math.max(this.#nextAt, now - this.#catchUp) + (p.bytes * 1e6) / this.#rate;
      this.#out(p);
    }
  }
}

function checkRate(r: number): number {
  if (!(r > 0)) throw new InvalidArgumentError(`rate must be a positive number of bytes/s (or Infinity), got ${r}`);
  return r;
}
