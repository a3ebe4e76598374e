/**
 * BBR (v1): model the path as bottleneck bandwidth (windowed max of delivery
 * rate over 10 rounds) and min RTT (windowed min over 10 s); pace at
 * gain × bandwidth and cap cwnd at gain × BDP. Modes: STARTUP (gain 2/ln 2)
 * until bandwidth stops growing 25 % for 3 rounds, DRAIN until in-flight fits
 * the BDP, PROBE_BW cycling the 8 pacing gains one min-RTT each, PROBE_RTT
 * (cwnd 4 packets for 200 ms) when min RTT has not been refreshed for 10 s.
 */
import type { Algorithm, DatapathHandle, Flow } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { Report } from '../agent/report.js';
import { checkReportMode, GENERIC_PROGRAMS, installReporting, measure, type GenericProgram, type ReportingOptions } from './programs.js';

export type BbrMode = 'startup' | 'drain' | 'probe_bw' | 'probe_rtt';

export type BbrOptions = ReportingOptions;

const HIGH_GAIN = 2 / Math.LN2;
export const PROBE_BW_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
const BW_WINDOW_ROUNDS = 10;
const MIN_RTT_WINDOW_US = 10_000_000;
const PROBE_RTT_US = 200_000;
const MIN_CWND_PACKETS = 4;
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/** PROBE_BW starts in a cruise phase, as BBR's random start never picks the drain phase. */
const PROBE_BW_START_PHASE = 2;

export class BbrFlow implements Flow {
  mode: BbrMode = 'startup';
  /** Bottleneck bandwidth estimate, bytes/s. */
  btlBw = 0;
  /** Min RTT estimate, µs (Infinity before the first sample). */
  minRtt = Infinity;
  cycleIndex = 0;
  round = 0;
  private minRttStamp = 0;
  /** Per-round maxima of delivery rate, newest last. */
  private readonly bwSamples: Array<{ round: number; bw: number }> = [];
  private roundStart: number | undefined;
  private fullBw = 0;
  private fullBwRounds = 0;
  private filledPipe = false;
  private cycleStart = 0;
  private probeRttDone = 0;
  private readonly mss: number;
  private cwnd: number;

  constructor(
    private readonly datapath: DatapathHandle<GenericProgram>,
    info: FlowInfo,
    options: BbrOptions = {},
  ) {
    this.mss = info.mss;
    this.cwnd = info.initCwnd;
    installReporting(datapath, options.report);
  }

  get pacingGain(): number {
    switch (this.mode) {
      case 'startup':
        return HIGH_GAIN;
      case 'drain':
        return 1 / HIGH_GAIN;
      case 'probe_bw':
        return PROBE_BW_GAINS[this.cycleIndex] ?? 1;
      case 'probe_rtt':
        return 1;
    }
  }

  get cwndGain(): number {
    return this.mode === 'startup' || this.mode === 'drain' ? HIGH_GAIN : 2;
  }

  /** Bandwidth-delay product, bytes (0 until both estimates exist). */
  get bdp(): number {
    return Number.isFinite(this.minRtt) ? (this.btlBw * this.minRtt) / 1e6 : 0;
  }

  onReport(report: Report): void {
    const m = measure(report);
    const now = m.time;
    const newRound = this.advanceRound(now);
    if (m.rate > 0) this.sampleBandwidth(m.rate);

    const rtt = m.minRtt || m.rtt;
    const minRttExpired = now - this.minRttStamp > MIN_RTT_WINDOW_US;
    if (rtt > 0 && (rtt <= this.minRtt || minRttExpired)) {
      this.minRtt = rtt;
      this.minRttStamp = now;
    }

    switch (this.mode) {
      case 'startup':
        if (newRound && this.pipeIsFull()) this.mode = 'drain';
        break;
      case 'drain':
        break;
      case 'probe_bw':
        if (now - this.cycleStart > this.minRtt) {
          this.cycleIndex = (this.cycleIndex + 1) % PROBE_BW_GAINS.length;
          this.cycleStart = now;
        }
        break;
      case 'probe_rtt':
        if (now >= this.probeRttDone) {
          this.minRttStamp = now;
          if (this.filledPipe) this.enterProbeBw(now);
          else this.mode = 'startup';
        }
        break;
    }
    if (this.mode === 'drain' && m.inflight * this.mss <= this.bdp) this.enterProbeBw(now);
    if (minRttExpired && this.mode !== 'probe_rtt') {
      this.mode = 'probe_rtt';
      this.probeRttDone = now + Math.max(PROBE_RTT_US, Number.isFinite(this.minRtt) ? this.minRtt : 0);
    }
    this.push();
  }

  private advanceRound(now: number): boolean {
    if (this.roundStart === undefined) {
      this.roundStart = now;
      return false;
    }
    if (now - this.roundStart < (Number.isFinite(this.minRtt) ? this.minRtt : 0)) return false;
    this.round += 1;
    this.roundStart = now;
    return true;
  }

  private sampleBandwidth(rate: number): void {
    const last = this.bwSamples.at(-1);
    if (last?.round === this.round) last.bw = Math.max(last.bw, rate);
    else this.bwSamples.push({ round: this.round, bw: rate });
    while ((this.bwSamples[0]?.round ?? this.round) <= this.round - BW_WINDOW_ROUNDS) this.bwSamples.shift();
    this.btlBw = Math.max(...this.bwSamples.map((s) => s.bw));
  }

  private pipeIsFull(): boolean {
    if (this.btlBw >= this.fullBw * FULL_BW_GROWTH) {
      this.fullBw = this.btlBw;
      this.fullBwRounds = 0;
      return false;
    }
    this.fullBwRounds += 1;
    this.filledPipe = this.fullBwRounds >= FULL_BW_ROUNDS;
    return this.filledPipe;
  }

  private enterProbeBw(now: number): void {
    this.mode = 'probe_bw';
    this.cycleIndex = PROBE_BW_START_PHASE;
    this.cycleStart = now;
  }

  private push(): void {
    const minCwnd = MIN_CWND_PACKETS * this.mss;
    if (this.btlBw === 0 || this.bdp === 0) {
      this.datapath.updateField({ cwnd: Math.max(Math.round(this.cwnd), minCwnd) });
      return;
    }
    this.cwnd = this.mode === 'probe_rtt' ? minCwnd : Math.max(this.cwndGain * this.bdp, minCwnd);
    this.datapath.updateField({ cwnd: Math.round(this.cwnd), rate: Math.max(1, Math.round(this.pacingGain * this.btlBw)) });
  }
}

export function bbr(options: BbrOptions = {}): Algorithm<BbrFlow, GenericProgram> {
  if (options.report !== undefined) checkReportMode(options.report);
  return { name: 'bbr', programs: GENERIC_PROGRAMS, newFlow: (dp, info) => new BbrFlow(dp, info, options) };
}
