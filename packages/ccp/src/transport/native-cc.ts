/**
 * Congestion control run inside the transport, per ACK: Reno and Cubic with
 * the mathematics of the agent's algorithms (algorithms/reno.ts, cubic.ts),
 * as the fidelity baseline for CCP and as the fallback while the agent is
 * unreachable. Loss recovery as RFC 9002 §7.3.2 (QUIC, whose packet numbers
 * this transport shares): a loss starts a recovery period unless the lost
 * packet was sent before the current one began, so there is one reduction
 * per round trip of losses, and a lost retransmission or a window still too
 * large after the first cut gets the next one; ACKs of packets sent before
 * the period began do not grow the window (RFC 6675, RFC 9438 §4.6).
 * Slow start leaves through HyStart++ (RFC 9406), with Linux's ACK-train
 * exit, unless turned off.
 */
import { HyStart, type HyStartOptions } from '../algorithms/hystart.js';

export type NativeAlgorithm = 'reno' | 'cubic';

/** What one ACK (or a loss timer) tells the controller. */
export interface NativeAckInput {
  readonly nowUs: number;
  /** Bytes newly covered by the cumulative ACK (SACKed ones included, so growth counts each byte once). */
  readonly ackedBytes: number;
  /** When the most recently sent of the packets this ACK covers or SACKs was sent, µs. */
  readonly ackedSentUs: number;
  /** Packets newly detected lost. */
  readonly lostPackets: number;
  /** When the most recently sent of those lost packets was sent, µs. */
  readonly lostSentUs: number;
  /** Smoothed RTT, µs (0 before the first sample). */
  readonly srttUs: number;
  /** The RTT sample this ACK gave, µs (0 when it gave none). */
  readonly rttUs: number;
}

export class NativeCongestionControl {
  readonly algorithm: NativeAlgorithm;
  cwnd: number;
  ssthresh = Infinity;
  readonly mss: number;
  readonly initCwnd: number;
  /** When the current recovery period began, µs: packets sent before it belong to it. */
  #recoveryStartUs = -Infinity;
  // Cubic (RFC 9438), in segments and seconds.
  readonly #c = 0.4;
  readonly #beta = 0.7;
  #wMax = 0;
  #cwndPrior = 0;
  #k = 0;
  #origin = 0;
  #wEst = 0;
  #epochStart: number | undefined;
  /** HyStart++ during the initial slow start; undefined when turned off. */
  readonly #hystart: HyStart | undefined;

  constructor(algorithm: NativeAlgorithm, mss: number, initCwnd: number, cwnd = initCwnd, ssthresh = Infinity, hystart: boolean | HyStartOptions = true) {
    this.#hystart = hystart === false ? undefined : new HyStart(hystart === true ? {} : hystart);
    this.algorithm = algorithm;
    this.mss = mss;
    this.initCwnd = initCwnd;
    this.cwnd = cwnd;
    this.ssthresh = ssthresh;
  }

  /** Acknowledgements first, then losses, as RFC 9002's OnAckReceived. */
  onAck(a: NativeAckInput): void {
    if (a.ackedBytes > 0 && a.ackedSentUs > this.#recoveryStartUs) this.#grow(a, a.ackedBytes);
    if (a.lostPackets > 0 && a.lostSentUs > this.#recoveryStartUs) {
      this.#hystart?.exit();
      this.#reduce();
      this.cwnd = Math.max(this.cwnd, 2 * this.mss);
      this.ssthresh = this.cwnd;
      this.#recoveryStartUs = a.nowUs;
    }
  }

  #grow(a: NativeAckInput, ackedBytes: number): void {
    let acked = ackedBytes;
    let grow = acked;
    const hs = this.#hystart;
    if (this.cwnd < this.ssthresh && hs !== undefined && hs.active()) {
      // Send times mark the rounds: a round ends when an ACK covers a packet sent since it began.
      // ACK times for the ACK-train exit, from Linux's low window of 16 segments on.
      const time = this.cwnd >= 16 * this.mss ? a.nowUs : undefined;
      grow = hs.onAck({ acked, ackedPosition: a.ackedSentUs, nextPosition: a.nowUs, rttSamples: a.rttUs > 0 ? 1 : 0, rtt: a.rttUs, time });
      if (!hs.active()) this.ssthresh = this.cwnd;
    }
    if (this.cwnd < this.ssthresh) {
      const room = this.ssthresh - this.cwnd;
      if (grow <= room) {
        this.cwnd += grow;
        return;
      }
      this.cwnd = this.ssthresh;
      acked -= room;
    }
    if (this.algorithm === 'reno') this.cwnd += (this.mss * acked) / this.cwnd;
    else this.#cubicIncrease(a, acked);
  }

  /**
   * A retransmission timeout: back to the initial window, as the agent's
   * window algorithms do. Everything in flight was declared lost with it;
   * losses of packets sent since start a new recovery period.
   */
  onTimeout(nowUs: number): void {
    this.#hystart?.exit();
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.initCwnd;
    this.#epochStart = undefined;
    this.#recoveryStartUs = nowUs;
  }

  #reduce(): void {
    if (this.algorithm === 'reno') {
      this.cwnd /= 2;
      return;
    }
    const w = this.cwnd / this.mss;
    this.#cwndPrior = w;
    this.#wMax = w < this.#wMax ? (w * (1 + this.#beta)) / 2 : w; // fast convergence
    this.cwnd *= this.#beta;
    this.#epochStart = undefined;
  }

  #cubicIncrease(a: NativeAckInput, acked: number): void {
    const cwnd = this.cwnd / this.mss;
    if (this.#epochStart === undefined) {
      this.#epochStart = a.nowUs;
      if (cwnd < this.#wMax) {
        this.#k = Math.cbrt((this.#wMax - cwnd) / this.#c);
        this.#origin = this.#wMax;
      } else {
        this.#k = 0;
        this.#origin = cwnd;
      }
      this.#wEst = cwnd;
    }
    const segments = acked / this.mss;
    const t = (a.nowUs - this.#epochStart) / 1e6;
    const alpha = this.#wEst >= this.#cwndPrior ? 1 : (3 * (1 - this.#beta)) / (1 + this.#beta);
    this.#wEst += (alpha * segments) / cwnd;
    const w = (x: number): number => this.#c * (x - this.#k) ** 3 + this.#origin;
    if (w(t) < this.#wEst) {
      this.cwnd = this.#wEst * this.mss;
      return;
    }
    const target = Math.min(Math.max(w(t + a.srttUs / 1e6), cwnd), 1.5 * cwnd);
    this.cwnd = (cwnd + (segments * (target - cwnd)) / cwnd) * this.mss;
  }
}
