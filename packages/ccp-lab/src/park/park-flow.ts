/**
 * The flow the Park environment drives: a CCP algorithm that reports every
 * 10 ms, runs a shadow Vegas on its own reports, applies whatever window
 * the environment last chose (a fixed window, or a multiple of Vegas's as
 * Vegas moves), and sums each step's signals for the observation.
 */
import {
  GENERIC_PROGRAMS,
  installReporting,
  measure,
  VegasFlow,
  type Algorithm,
  type DatapathHandle,
  type Flow,
  type FlowInfo,
  type GenericProgram,
  type Report,
} from '@bertha/ccp';
import { shadowFlow, type Shadow } from '../algorithms/shadow.js';

/** The window to apply: fixed bytes, or a multiple of the shadow Vegas's window. */
export type WindowChoice = { readonly kind: 'bytes'; readonly bytes: number } | { readonly kind: 'vegas'; readonly multiplier: number };

/** What one step's reports add up to. */
export interface StepSignals {
  ackedBytes: number;
  lostPackets: number;
  /** Sum and count of the reports' smallest RTTs, µs. */
  rttSumUs: number;
  rttCount: number;
  timeouts: number;
}

export const emptySignals = (): StepSignals => ({ ackedBytes: 0, lostPackets: 0, rttSumUs: 0, rttCount: 0, timeouts: 0 });

export class ParkFlow implements Flow {
  signals = emptySignals();
  /** Smallest RTT seen, µs. */
  minRttUs = Infinity;
  readonly #dp: DatapathHandle<GenericProgram>;
  readonly #vegas: Shadow<VegasFlow>;
  #choice: WindowChoice;

  constructor(dp: DatapathHandle<GenericProgram>, info: FlowInfo, reportUs: number) {
    this.#dp = dp;
    this.#vegas = shadowFlow(info, (d, i) => new VegasFlow(d, i));
    this.#choice = { kind: 'vegas', multiplier: 1 };
    installReporting(dp, { intervalUs: reportUs });
    this.#apply();
  }

  /** The shadow Vegas's window, bytes. */
  get vegasCwnd(): number {
    return this.#vegas.cwnd;
  }

  /** The window in force, bytes. */
  get cwnd(): number {
    const c = this.#choice;
    return Math.max(this.#dp.info.mss, Math.round(c.kind === 'bytes' ? c.bytes : c.multiplier * this.#vegas.cwnd));
  }

  choose(choice: WindowChoice): void {
    this.#choice = choice;
    this.#apply();
  }

  onReport(report: Report): void {
    const m = measure(report);
    this.#vegas.flow.onReport(report);
    const s = this.signals;
    s.ackedBytes += m.acked;
    s.lostPackets += m.loss;
    if (m.timeout) s.timeouts++;
    const rtt = m.minRtt || m.rtt;
    if (rtt > 0) {
      s.rttSumUs += rtt;
      s.rttCount++;
      this.minRttUs = Math.min(this.minRttUs, rtt);
    }
    this.#apply();
  }

  #apply(): void {
    this.#dp.updateField({ cwnd: this.cwnd });
  }
}

/** The algorithm `park`; `onFlow` receives the flow the environment drives. */
export function parkAlgorithm(reportUs: number, onFlow: (f: ParkFlow) => void): Algorithm<ParkFlow, GenericProgram> {
  return {
    name: 'park',
    programs: GENERIC_PROGRAMS,
    newFlow(dp, info) {
      const f = new ParkFlow(dp, info, reportUs);
      onFlow(f);
      return f;
    },
  };
}
