/**
 * DCTCP (RFC 8257): α, an EWMA (gain g = 1/16) of the fraction of bytes
 * ECN-marked per window, and cwnd ← cwnd·(1 − α/2) once per window that saw
 * marks. Growth and loss reaction are Reno's.
 */
import type { Algorithm, DatapathHandle } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { GenericProgram, Measurements } from './programs.js';
import { windowAlgorithm, WindowFlow, type WindowOptions } from './window.js';

export interface DctcpOptions extends WindowOptions {
  /** EWMA gain g (default 1/16). */
  readonly g?: number;
  /** α before the first window (default 1, as Linux: the first marks halve cwnd). */
  readonly initialAlpha?: number;
}

export class DctcpFlow extends WindowFlow {
  readonly g: number;
  alpha: number;
  private windowAcked = 0;
  private windowEcn = 0;
  /** Bytes to acknowledge before the current observation window ends (cwnd at its start). */
  private windowEnd: number;

  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, options: DctcpOptions = {}) {
    super(dp, info, options);
    this.g = options.g ?? 1 / 16;
    this.alpha = options.initialAlpha ?? 1;
    this.windowEnd = this.cwnd;
  }

  protected override update(m: Measurements): void {
    this.windowAcked += m.acked;
    this.windowEcn += m.ecnBytes;
    if (this.windowAcked < this.windowEnd || this.windowAcked === 0) {
      super.update(m);
      return;
    }
    const marked = this.windowEcn;
    this.alpha = (1 - this.g) * this.alpha + (this.g * marked) / this.windowAcked;
    this.windowAcked = 0;
    this.windowEcn = 0;
    if (marked > 0) {
      this.cwnd = Math.max(this.cwnd * (1 - this.alpha / 2), 2 * this.mss);
      this.ssthresh = this.cwnd;
      this.reactToLoss(m);
    } else {
      super.update(m);
    }
    this.windowEnd = this.cwnd;
  }

  protected increase(_m: Measurements, acked: number): void {
    this.cwnd += (this.mss * acked) / this.cwnd;
  }

  protected reduce(): void {
    this.cwnd /= 2;
  }
}

export function dctcp(options: DctcpOptions = {}): Algorithm<WindowFlow, GenericProgram> {
  return windowAlgorithm('dctcp', options, (dp, info, o) => new DctcpFlow(dp, info, o));
}
