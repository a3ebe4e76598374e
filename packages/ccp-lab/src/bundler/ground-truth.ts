/**
 * What the simulator knows and the boxes do not: every bundle packet's
 * departure from the sendbox and arrival at the receivebox. The accuracy
 * benchmark compares each epoch estimate with the true RTT and rates over
 * the same stretch of time.
 */
import type { EpochEstimate } from './epoch-meter.js';

/** Times (µs) with the cumulative bytes up to then, in time order. */
class Cumulative {
  readonly times: number[] = [];
  readonly bytes: number[] = [];
  #total = 0;

  add(atUs: number, bytes: number): void {
    this.#total += bytes;
    this.times.push(atUs);
    this.bytes.push(this.#total);
  }

  /** Index of the last entry at or before `t`, -1 if none. */
  indexAt(t: number): number {
    let lo = 0;
    let hi = this.times.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! <= t) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Bytes counted at or before `t`. */
  at(t: number): number {
    const i = this.indexAt(t);
    return i < 0 ? 0 : this.bytes[i]!;
  }

  /** Bytes/s over [from, to]. */
  rate(from: number, to: number): number {
    return to > from ? ((this.at(to) - this.at(from)) * 1e6) / (to - from) : 0;
  }
}

export interface EstimateError {
  /** Estimate minus truth: µs, and bits/s. */
  readonly rttUs: number;
  readonly sendRateBps: number;
  readonly recvRateBps: number;
}

export class GroundTruth {
  readonly #sent = new Cumulative();
  readonly #arrived = new Cumulative();
  /** Per arrival: the packet's RTT (sendbox → receivebox, plus the feedback path's delay). */
  readonly #rtts: number[] = [];

  constructor(private readonly feedbackDelayUs: number) {}

  departed(atUs: number, bytes: number): void {
    this.#sent.add(atUs, bytes);
  }

  arrived(atUs: number, bytes: number, departedUs: number): void {
    this.#arrived.add(atUs, bytes);
    this.#rtts.push(atUs - departedUs + this.feedbackDelayUs);
  }

  /**
   * How far `e` is from the truth. RTT: the mean RTT of the packets that
   * arrived at the receivebox since the previous estimate's boundary (the
   * epoch this boundary closes). Rates: bytes sent in the RTT before the
   * boundary left the sendbox, and received in the RTT before it arrived.
   */
  errorOf(e: EpochEstimate, previous: EpochEstimate | undefined): EstimateError {
    const arrivedAt = e.atUs - this.feedbackDelayUs;
    const epochFrom = previous === undefined ? arrivedAt - e.rttUs / 4 : previous.atUs - this.feedbackDelayUs;
    const lo = this.#arrived.indexAt(epochFrom) + 1;
    const hi = this.#arrived.indexAt(arrivedAt);
    let sum = 0;
    for (let i = lo; i <= hi; i++) sum += this.#rtts[i]!;
    const trueRtt = hi >= lo ? sum / (hi - lo + 1) : e.rttUs;
    const w = e.rttUs;
    return {
      rttUs: e.rttUs - trueRtt,
      sendRateBps: (e.sendRate - this.#sent.rate(e.atUs - e.rttUs - w, e.atUs - e.rttUs)) * 8,
      recvRateBps: (e.recvRate - this.#arrived.rate(arrivedAt - w, arrivedAt)) * 8,
    };
  }
}
