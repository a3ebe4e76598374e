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
 *
 * Callers that know when each ACK arrived (`HyStartAck.time`) also get
 * Linux's ACK-train exit (tcp_cubic.c): slow start ends when the ACKs of one
 * round keep arriving back to back for longer than half the flow's minimum
 * RTT, i.e. once the window takes that long to drain through the bottleneck.
 * Unpaced slow start doubles the queue within one round, so the RTT rise of
 * the next round comes too late when the buffer is about one BDP; the train
 * is seen within the round (netns-compare.sh at 48 Mbit/s, 20 ms, 1.26 BDP
 * of buffer: the RTT test alone let the window reach twice what the path
 * holds).
 *
 * Linux ends a train at the first gap over 2 ms. Here the ACKs must keep
 * that pace on average (the round's train is no longer than `ackTrainGap`
 * per gap, plus one spare), and only a single gap over `ackTrainMaxGap` ends
 * it at once. A user-space sender reads ACKs late now and then (a pause of
 * its event loop or the receiver's, then a burst), and at 12 Mbit/s an ACK
 * per two packets comes every 2.0 ms, right at Linux's bound: with the
 * per-gap test the train broke in almost every round, slow start ran a
 * round too long, and netns-compare.sh at 12 Mbit/s, 50 ms lost 61-62
 * packets per run against Linux's 10 (9 with the average). The pace bound
 * itself stays Linux's fixed 2 ms, whatever the RTT: a bound that grows with
 * the RTT (min RTT / 8 was tried) also strings together the ACKs of a flow
 * that a shared, paced queue serves in turns, which then leaves slow start
 * at a few dozen packets (Bundler's endhosts behind its SFQ sendbox: median
 * slowdown 1.34× the status quo's with it, 0.68× without).
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
  /** Largest mean gap between the ACKs of a train (default 2,000 µs, Linux's hystart_ack_delta_us for every gap). */
  readonly ackTrainGap?: number;
  /** A single gap longer than this ends the train (default 4 × `ackTrainGap`). */
  readonly ackTrainMaxGap?: number;
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
  /** When the ACK arrived, in the RTT unit; given, the ACK-train test runs too (leave it out below Linux's 16-segment low window). */
  readonly time?: number;
}

export class HyStart {
  readonly minRttThresh: number;
  readonly maxRttThresh: number;
  readonly minRttDivisor: number;
  readonly nRttSample: number;
  readonly cssGrowthDivisor: number;
  readonly cssRounds: number;
  readonly ackTrainGap: number;
  readonly ackTrainMaxGap: number;
  #phase: HyStartPhase = 'slow-start';
  /** Rounds begun since the flow started (the first begins with the first ACK). */
  rounds = 0;
  #windowEnd = -Infinity;
  #lastRoundMinRtt = Infinity;
  /**
   * The smallest round minimum before this round: the RTT test's baseline, as
   * Linux's delay_min, where RFC 9406 takes the last round's alone. A real
   * sender's first rounds carry its own start-up delays (a cold JIT, an event
   * loop busy connecting), which raised the last-round baseline with them and
   * hid the queue's rise (netns-compare.sh, 12 Mbit/s, 50 ms).
   */
  #earlierMinRtt = Infinity;
  #currentRoundMinRtt = Infinity;
  #rttSampleCount = 0;
  #cssBaselineMinRtt = Infinity;
  #cssRoundsDone = 0;
  /** Smallest RTT sample so far. */
  #minRtt = Infinity;
  /** When the current round's first ACK arrived, and the train's latest (undefined: no time given yet this round). */
  #roundStartTime: number | undefined;
  #lastAckTime = 0;
  /** Gaps in the current round's train so far; -1 once it broke. */
  #trainGaps = 0;

  constructor(o: HyStartOptions = {}) {
    this.minRttThresh = o.minRttThresh ?? 4000;
    this.maxRttThresh = o.maxRttThresh ?? 16_000;
    this.minRttDivisor = o.minRttDivisor ?? 8;
    this.nRttSample = o.nRttSample ?? 8;
    this.cssGrowthDivisor = o.cssGrowthDivisor ?? 4;
    this.cssRounds = o.cssRounds ?? 5;
    this.ackTrainGap = o.ackTrainGap ?? 2000;
    this.ackTrainMaxGap = o.ackTrainMaxGap ?? 4 * this.ackTrainGap;
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
      this.#minRtt = Math.min(this.#minRtt, a.rtt);
      this.#rttSampleCount += a.rttSamples;
    }
    if (a.time !== undefined && this.#phase === 'slow-start' && this.#ackTrainLongEnough(a.time)) {
      this.#phase = 'done';
      return a.acked;
    }
    const enough = this.#rttSampleCount >= this.nRttSample && this.#currentRoundMinRtt !== Infinity;
    if (this.#phase === 'slow-start') {
      if (enough && this.#lastRoundMinRtt !== Infinity) {
        const thresh = Math.max(this.minRttThresh, Math.min(this.#lastRoundMinRtt / this.minRttDivisor, this.maxRttThresh));
        if (this.#currentRoundMinRtt >= this.#earlierMinRtt + thresh) {
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

  #ackTrainLongEnough(time: number): boolean {
    if (this.#roundStartTime === undefined) {
      this.#roundStartTime = this.#lastAckTime = time;
      this.#trainGaps = 0;
      return false;
    }
    if (this.#trainGaps < 0) return false; // broken for the rest of the round
    const length = time - this.#roundStartTime;
    this.#trainGaps++;
    if (time - this.#lastAckTime > this.ackTrainMaxGap || length > this.ackTrainGap * (this.#trainGaps + 1)) {
      this.#trainGaps = -1;
      return false;
    }
    this.#lastAckTime = time;
    return length > this.#minRtt / 2;
  }

  #newRound(next: number): void {
    if (this.#phase === 'css' && ++this.#cssRoundsDone >= this.cssRounds) {
      this.#phase = 'done';
      return;
    }
    this.rounds++;
    this.#windowEnd = next;
    this.#lastRoundMinRtt = this.#currentRoundMinRtt;
    this.#earlierMinRtt = Math.min(this.#earlierMinRtt, this.#currentRoundMinRtt);
    this.#currentRoundMinRtt = Infinity;
    this.#rttSampleCount = 0;
    this.#roundStartTime = undefined;
  }
}
