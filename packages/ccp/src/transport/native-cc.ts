/**
 * Congestion control run inside the transport, per ACK: Reno and Cubic with
 * the mathematics of the agent's algorithms (algorithms/reno.ts, cubic.ts),
 * as the fidelity baseline for CCP and as the fallback while the agent is
 * unreachable. One reduction per loss episode: no second decrease until every
 * packet sent before the loss is acknowledged (NewReno's recovery point).
 */
export type NativeAlgorithm = 'reno' | 'cubic';

/** What one ACK (or a loss timer) tells the controller. */
export interface NativeAckInput {
  readonly nowUs: number;
  /** Bytes newly covered by the cumulative ACK (SACKed ones included, so growth counts each byte once). */
  readonly ackedBytes: number;
  /** Packets newly detected lost. */
  readonly lostPackets: number;
  /** The lowest unacknowledged packet and the next new one, for the recovery point. */
  readonly una: number;
  readonly nextSeq: number;
  /** Smoothed RTT, µs (0 before the first sample). */
  readonly srttUs: number;
}

export class NativeCongestionControl {
  readonly algorithm: NativeAlgorithm;
  cwnd: number;
  ssthresh = Infinity;
  readonly mss: number;
  readonly initCwnd: number;
  /** Until `una` reaches this, losses belong to the current episode. */
  #recoveryEnd = 0;
  // Cubic (RFC 9438), in segments and seconds.
  readonly #c = 0.4;
  readonly #beta = 0.7;
  #wMax = 0;
  #k = 0;
  #origin = 0;
  #wEst = 0;
  #epochStart: number | undefined;

  constructor(algorithm: NativeAlgorithm, mss: number, initCwnd: number, cwnd = initCwnd, ssthresh = Infinity) {
    this.algorithm = algorithm;
    this.mss = mss;
    this.initCwnd = initCwnd;
    this.cwnd = cwnd;
    this.ssthresh = ssthresh;
  }

  get inRecovery(): boolean {
    return this.#recoveryEnd > 0;
  }

  onAck(a: NativeAckInput): void {
    if (this.#recoveryEnd > 0 && a.una >= this.#recoveryEnd) this.#recoveryEnd = 0;
    if (a.lostPackets > 0 && this.#recoveryEnd === 0) {
      this.#reduce();
      this.cwnd = Math.max(this.cwnd, 2 * this.mss);
      this.ssthresh = this.cwnd;
      this.#recoveryEnd = Math.max(a.nextSeq, a.una + 1);
      return;
    }
    if (this.#recoveryEnd > 0 || a.ackedBytes <= 0) return;
    let acked = a.ackedBytes;
    if (this.cwnd < this.ssthresh) {
      const room = this.ssthresh - this.cwnd;
      if (acked <= room) {
        this.cwnd += acked;
        return;
      }
      this.cwnd = this.ssthresh;
      acked -= room;
    }
    if (this.algorithm === 'reno') this.cwnd += (this.mss * acked) / this.cwnd;
    else this.#cubicIncrease(a, acked);
  }

  /** A retransmission timeout: back to the initial window, as the agent's window algorithms do. */
  onTimeout(nextSeq: number): void {
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.initCwnd;
    this.#epochStart = undefined;
    this.#recoveryEnd = nextSeq;
  }

  #reduce(): void {
    if (this.algorithm === 'reno') {
      this.cwnd /= 2;
      return;
    }
    const w = this.cwnd / this.mss;
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
    const alpha = this.#wEst >= this.#wMax ? 1 : (3 * (1 - this.#beta)) / (1 + this.#beta);
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
