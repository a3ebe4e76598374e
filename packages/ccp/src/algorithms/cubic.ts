/**
 * CUBIC (RFC 9438): after a loss the window follows W(t) = C·(t − K)³ + W_max,
 * with C = 0.4, β = 0.7, fast convergence, and the Reno-friendly region.
 * Window arithmetic is in segments, as in the RFC.
 */
import type { Algorithm, DatapathHandle } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { GenericProgram, Measurements } from './programs.js';
import { windowAlgorithm, WindowFlow, type WindowOptions } from './window.js';

export interface CubicOptions extends WindowOptions {
  /** Scaling constant C, segments/s³ (default 0.4). */
  readonly c?: number;
  /** Multiplicative decrease factor β (default 0.7). */
  readonly beta?: number;
  /** Fast convergence: release bandwidth sooner when W_max shrinks (default true). */
  readonly fastConvergence?: boolean;
}

export class CubicFlow extends WindowFlow {
  readonly c: number;
  readonly beta: number;
  readonly fastConvergence: boolean;
  /** W_max: the window at the last reduction, lowered by fast convergence, segments. */
  wMax = 0;
  /** cwnd_prior: the window at the last reduction, segments (RFC 9438 §4.3). */
  cwndPrior = 0;
  /** Seconds from the epoch start until W(t) reaches W_max again. */
  k = 0;
  /** Agent time the current congestion-avoidance epoch began, µs. */
  epochStart: number | undefined;
  /** The Reno-friendly estimate, segments. */
  wEst = 0;
  /** The plateau of the cubic curve for this epoch, segments. */
  private origin = 0;

  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, options: CubicOptions = {}) {
    super(dp, info, options, true); // HyStart++ on by default
    this.c = options.c ?? 0.4;
    this.beta = options.beta ?? 0.7;
    this.fastConvergence = options.fastConvergence ?? true;
  }

  /** W_cubic(t) for t seconds into the epoch, segments. */
  wCubic(t: number): number {
    return this.c * (t - this.k) ** 3 + this.origin;
  }

  protected increase(m: Measurements, acked: number): void {
    const cwnd = this.cwnd / this.mss;
    if (this.epochStart === undefined) {
      // The epoch begins with the first ACK after recovery, not when the report arrives.
      this.epochStart = this.growthFromUs;
      if (cwnd < this.wMax) {
        this.k = Math.cbrt((this.wMax - cwnd) / this.c);
        this.origin = this.wMax;
      } else {
        this.k = 0;
        this.origin = cwnd;
      }
      this.wEst = cwnd;
    }
    const segments = acked / this.mss;
    const t = (m.time - this.epochStart) / 1e6;
    // α_cubic makes the estimate grow like Reno with β = 0.7; once back at cwnd_prior, like standard Reno.
    const alpha = this.wEst >= this.cwndPrior ? 1 : (3 * (1 - this.beta)) / (1 + this.beta);
    this.wEst += (alpha * segments) / cwnd;
    if (this.wCubic(t) < this.wEst) {
      this.cwnd = this.wEst * this.mss;
      return;
    }
    const target = Math.min(Math.max(this.wCubic(t + this.rtt / 1e6), cwnd), 1.5 * cwnd);
    this.cwnd = (cwnd + (segments * (target - cwnd)) / cwnd) * this.mss;
  }

  protected reduce(): void {
    const cwnd = this.cwnd / this.mss;
    this.cwndPrior = cwnd;
    this.wMax = this.fastConvergence && cwnd < this.wMax ? (cwnd * (1 + this.beta)) / 2 : cwnd;
    this.cwnd *= this.beta;
    this.epochStart = undefined;
  }

  protected override reset(): void {
    this.epochStart = undefined;
  }
}

export function cubic(options: CubicOptions = {}): Algorithm<WindowFlow, GenericProgram> {
  return windowAlgorithm('cubic', options, (dp, info, o) => new CubicFlow(dp, info, o));
}
