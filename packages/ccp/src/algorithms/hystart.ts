/**
 * HyStart++ (RFC 9406): leaves slow start when the round's minimum RTT rises
 * by a threshold over the previous round's, then grows in Conservative Slow
 * Start (CSS) for up to CSS_ROUNDS rounds before congestion avoidance, or
 * back to slow start if the RTT falls again (the rise was a spurious jitter).
 *
 * Unit-free: the window is in whatever unit the caller counts acked data
 * (bytes or segments), and rounds are told by
 * monotonic positions the caller picks (send times or packet numbers): a round
 * ends when an ACK covers data sent at or after the position that was
 * `next` when the round began (RFC 9406 §4.2's windowEnd = SND.NXT).
 * Times (RTTs and thresholds) are in one unit, µs by default.
 */
export interface HyStartOptions {
  /** Lower bound of the RTT increase that ends slow start (default 4,000 µs). */
  readonly minRttThresh?: number;
  /** Upper bound of that increase (default 16,000 µs). */
  readonly maxRttThresh?: number;
  /** The increase is the previous round's min RTT / this, clamped (default 8). */
  readonly minRttDivisor?: number;
  /** RTT samples a round needs before its min RTT counts (default 8). */
  readonly nRttSample?: number;
  /** CSS grows by acked / this (default 4). */
  readonly cssGrowthDivisor?: number;
  /** Rounds of CSS before congestion avoidance (default 5). */
  readonly cssRounds?: number;
}

export type HyStartPhase = 'slow-start' | 'css' | 'done';

/** One ACK as HyStart++ sees it. */
export interface HyStartAck {
  /** Data newly acknowledged, in the window's unit. */
  readonly acked: number;
  /** Position of the most recently sent data this ACK covers. */
  readonly ackedPosition: number;
  /** Position the next data sent will have (SND.NXT, or the current time for send times). */
  readonly nextPosition: number;
  /** RTT samples this ACK gives (0 when none). */
  readonly rttSamples: number;
  /** The smallest of those samples (ignored when `rttSamples` is 0). */
  readonly rtt: number;
}

export class HyStart {
  readonly minRttThresh: number;
  readonly maxRttThresh: number;
  readonly minRttDivisor: number;
  readonly nRttSample: number;
  readonly cssGrowthDivisor: number;
  readonly cssRounds: number;
  #phase: HyStartPhase = 'slow-start';
  /** Rounds begun since the flow started (the first begins with the first ACK). */
  rounds = 0;
  #windowEnd = -Infinity;
  #lastRoundMinRtt = Infinity;
  #currentRoundMinRtt = Infinity;
  #rttSampleCount = 0;
  #cssBaselineMinRtt = Infinity;
  #cssRoundsDone = 0;

  constructor(o: HyStartOptions = {}) {
    this.minRttThresh = o.minRttThresh ?? 4000;
    this.maxRttThresh = o.maxRttThresh ?? 16_000;
    this.minRttDivisor = o.minRttDivisor ?? 8;
    this.nRttSample = o.nRttSample ?? 8;
    this.cssGrowthDivisor = o.cssGrowthDivisor ?? 4;
    this.cssRounds = o.cssRounds ?? 5;
  }

  /**
   * Takes one ACK during slow start; returns how much to grow the window by
   * (all of `acked` in slow start, a CSS_GROWTH_DIVISOR-th in CSS). After it
   * returns with `phase` 'done', the caller sets ssthresh to cwnd and moves to
   * congestion avoidance.
   */
  onAck(a: HyStartAck): number {
    if (!this.active()) return 0;
    if (a.ackedPosition >= this.#windowEnd) this.#newRound(a.nextPosition);
    if (!this.active()) return 0;
    if (a.rttSamples > 0) {
      this.#currentRoundMinRtt = Math.min(this.#currentRoundMinRtt, a.rtt);
      this.#rttSampleCount += a.rttSamples;
    }
    const enough = this.#rttSampleCount >= this.nRttSample && this.#currentRoundMinRtt !== Infinity;
    if (this.#phase === 'slow-start') {
      if (enough && this.#lastRoundMinRtt !== Infinity) {
        const thresh = Math.max(this.minRttThresh, Math.min(this.#lastRoundMinRtt / this.minRttDivisor, this.maxRttThresh));
        if (this.#currentRoundMinRtt >= this.#lastRoundMinRtt + thresh) {
          this.#cssBaselineMinRtt = this.#currentRoundMinRtt;
          this.#phase = 'css';
          this.#cssRoundsDone = 0;
        }
      }
    } else if (enough && this.#currentRoundMinRtt < this.#cssBaselineMinRtt) {
      // The increase was spurious: slow start again.
      this.#cssBaselineMinRtt = Infinity;
      this.#phase = 'slow-start';
    }
    return this.#phase === 'css' ? a.acked / this.cssGrowthDivisor : a.acked;
  }

  get phase(): HyStartPhase {
    return this.#phase;
  }

  /** Whether it still decides slow start's growth (not after a loss, a timeout, or the end of CSS). */
  active(): boolean {
    return this.#phase !== 'done';
  }

  /** A loss or ECN reduction ends slow start and CSS for good (RFC 9406 §4.3). */
  exit(): void {
    this.#phase = 'done';
  }

  #newRound(next: number): void {
    if (this.#phase === 'css' && ++this.#cssRoundsDone >= this.cssRounds) {
      this.#phase = 'done';
      return;
    }
    this.rounds++;
    this.#windowEnd = next;
    this.#lastRoundMinRtt = this.#currentRoundMinRtt;
    this.#currentRoundMinRtt = Infinity;
    this.#rttSampleCount = 0;
  }
}
