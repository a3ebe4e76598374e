/** TCP Reno (RFC 5681): cwnd grows by one MSS per window of ACKs and halves on loss. */
import type { Algorithm, DatapathHandle } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { GenericProgram, Measurements } from './programs.js';
import { windowAlgorithm, WindowFlow, type WindowOptions } from './window.js';

export type RenoOptions = WindowOptions;

export class RenoFlow extends WindowFlow {
  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, options: RenoOptions = {}) {
    super(dp, info, options, true); // HyStart++ on by default
  }

  protected increase(_m: Measurements, acked: number): void {
    this.cwnd += (this.mss * acked) / this.cwnd;
  }

  protected reduce(): void {
    this.cwnd /= 2;
  }
}

export function reno(options: RenoOptions = {}): Algorithm<WindowFlow, GenericProgram> {
  return windowAlgorithm('reno', options, (dp, info, o) => new RenoFlow(dp, info, o));
}
