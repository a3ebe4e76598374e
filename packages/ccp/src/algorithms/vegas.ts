/**
 * TCP Vegas: keep between α and β packets queued at the bottleneck, where the
 * queue is estimated as diff = cwnd·(1 − baseRTT/RTT) packets. Slow start ends
 * when diff exceeds γ; losses halve cwnd as in Reno.
 */
import type { Algorithm, DatapathHandle } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { GenericProgram, Measurements } from './programs.js';
import { windowAlgorithm, WindowFlow, type WindowOptions } from './window.js';

export interface VegasOptions extends WindowOptions {
  /** Grow below this many queued packets (default 2). */
  readonly alpha?: number;
  /** Shrink above this many queued packets (default 4). */
  readonly beta?: number;
  /** Leave slow start above this many queued packets (default 1). */
  readonly gamma?: number;
}

export class VegasFlow extends WindowFlow {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  /** Smallest RTT ever seen, µs. */
  baseRtt = Infinity;
  /** Estimated packets queued, from the latest report with an RTT sample. */
  diff = 0;

  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, options: VegasOptions = {}) {
    super(dp, info, options);
    this.alpha = options.alpha ?? 2;
    this.beta = options.beta ?? 4;
    this.gamma = options.gamma ?? 1;
  }

  protected override update(m: Measurements): void {
    // The smallest RTT of the report interval filters out delayed ACKs, as Vegas does per RTT.
    const rtt = m.minRtt || m.rtt;
    if (rtt > 0) {
      this.baseRtt = Math.min(this.baseRtt, rtt);
      this.diff = (this.cwnd / this.mss) * (1 - this.baseRtt / rtt);
      if (this.cwnd < this.ssthresh && this.diff > this.gamma) this.ssthresh = this.cwnd;
    }
    super.update(m);
  }

  /** One MSS per RTT up or down, in proportion to the share of a window acknowledged. */
  protected increase(_m: Measurements, acked: number): void {
    const step = this.mss * Math.min(1, acked / this.cwnd);
    if (this.diff < this.alpha) this.cwnd += step;
    else if (this.diff > this.beta) this.cwnd = Math.max(this.cwnd - step, 2 * this.mss);
  }

  protected reduce(): void {
    this.cwnd /= 2;
  }
}

export function vegas(options: VegasOptions = {}): Algorithm<WindowFlow, GenericProgram> {
  return windowAlgorithm('vegas', options, (dp, info, o) => new VegasFlow(dp, info, o));
}
