/**
 * Nimbus's estimate of the bottleneck rate μ: the highest receive rate seen
 * over a recent window, as the published implementation does (max receive
 * rate) and as BBR keeps its bottleneck bandwidth. A flow's receive rate
 * never exceeds μ, and reaches it whenever the flow has the bottleneck to
 * itself; the window lets the estimate fall when the link slows down.
 *
 * The samples are the datapath's delivery rates (each over at least one
 * RTT, counting SACKed bytes when they arrive): bytes acknowledged per
 * interval would count a loss repair's cumulative-ACK jump as a burst far
 * above μ, which the maximum would then keep for a whole window.
 */
import { InvalidArgumentError } from '@bertha/core';

export interface LinkRateOptions {
  /** How long a receive rate counts for the maximum, µs. Default 30 s. */
  readonly windowUs?: number;
}

export class LinkRateEstimator {
  readonly windowUs: number;
  /** Candidate maxima as (µs, bytes/s): times increasing, rates decreasing (a monotonic deque). */
  readonly #max: [number, number][] = [];

  constructor(options: LinkRateOptions = {}) {
    this.windowUs = options.windowUs ?? 30_000_000;
    if (!(this.windowUs > 0)) throw new InvalidArgumentError(`link-rate window must be a positive number of µs, got ${this.windowUs}`);
  }

  /** μ̂, bytes/s: the highest receive rate within the window; 0 before the first sample. */
  get rate(): number {
    return this.#max[0]?.[1] ?? 0;
  }

  /** A receive rate (bytes/s) measured at `atUs`; times must not go back. Returns μ̂. */
  add(atUs: number, rate: number): number {
    if (rate > 0 && rate < Infinity) {
      while (this.#max.length > 0 && this.#max.at(-1)![1] <= rate) this.#max.pop();
      this.#max.push([atUs, rate]);
    }
    // The newest candidate stays even when old: a stale estimate beats none.
    while (this.#max.length > 1 && this.#max[0]![0] <= atUs - this.windowUs) this.#max.shift();
    return this.rate;
  }
}
