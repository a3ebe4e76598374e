/**
 * Window-based congestion control shared by Reno, Cubic, Vegas and DCTCP:
 * program selection, slow start (in the agent or in the datapath), loss
 * recovery, timeouts, and pushing cwnd.
 * Subclasses supply the congestion-avoidance increase and the loss reduction.
 */
import type { Algorithm, DatapathHandle, Flow } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { Report } from '../agent/report.js';
import { HyStart, type HyStartOptions } from './hystart.js';
import {
  checkReportMode,
  GENERIC_PROGRAMS,
  installReporting,
  installSlowStart,
  measure,
  type GenericProgram,
  type Measurements,
  type ReportMode,
  type SlowStartMode,
} from './programs.js';

export interface WindowOptions {
  /** When reports are sent (default `'rtt'`); per ACK meanwhile while HyStart++ runs the agent's slow start. */
  readonly report?: ReportMode;
  /** Where slow start runs (default `'agent'`). */
  readonly slowStart?: SlowStartMode;
  /** Initial cwnd, bytes (default: the datapath's). */
  readonly initCwnd?: number;
  /** Initial slow-start threshold, bytes (default: none, slow start until the first loss). */
  readonly ssthresh?: number;
  /**
   * Leave the agent's slow start by HyStart++ (RFC 9406), with these
   * constants, rather than at the first loss; `false` turns it off. Default
   * on for Reno and Cubic, off for the others. Not used with datapath slow start.
   */
  readonly hystart?: boolean | HyStartOptions;
}

export abstract class WindowFlow implements Flow {
  /** Congestion window, bytes (fractional between pushes). */
  cwnd: number;
  ssthresh: number;
  readonly mss: number;
  readonly initCwnd: number;
  /** Latest RTT sample, µs (0 before the first). */
  protected rtt = 0;
  private inDatapathSlowStart = false;
  /**
   * The agent's HyStart++ slow start runs on per-ACK reports whatever
   * `report` says: per-RTT reports give it one RTT sample and no ACK times
   * per round (so neither its RTT test nor the ACK train sees the queue in
   * time), and grow the window once per round, which the datapath then sends
   * as one burst. The configured reporting takes over when slow start ends.
   */
  private perAckSlowStart = false;
  /**
   * End of the current recovery period, µs. Loss recovery as the transport's native control does it (RFC 9002
   * §7.3.2): a cut starts a recovery period; losses of packets sent before it
   * began belong to it, and ACKs of those packets do not grow the window.
   * Reports carry no send times, so the period is the round trip after the
   * cut, as long as the RTT measured at the cut (what was in flight then is
   * acknowledged or lost by its end, though the queue drains meanwhile).
   * Time, not the cumulative ACK, ends it, so a lost retransmission or a
   * window still too large after the cut gets the next cut a round trip later.
   */
  private recoveryEndUs = -Infinity;
  /**
   * Losses of the flight before the cut can be detected up to RACK's
   * reordering window (min RTT / 4, RFC 8985) after the period ends: they
   * still belong to it.
   */
  private lossGraceUs = 0;
  /** Smallest RTT reported, µs. */
  private minRtt = Infinity;
  /** Agent time of the previous report, µs: the start of the next report's interval. */
  private lastReportUs: number | undefined;
  /** When the acknowledgements counted for growth in this report began to arrive, µs. */
  protected growthFromUs = 0;
  private readonly reportMode: ReportMode;
  private readonly slowStartMode: SlowStartMode;
  /** HyStart++ in the agent's initial slow start; undefined when off. */
  readonly hystart: HyStart | undefined;

  constructor(
    protected readonly datapath: DatapathHandle<GenericProgram>,
    info: FlowInfo,
    options: WindowOptions = {},
    hystartByDefault = false,
  ) {
    this.mss = info.mss;
    this.initCwnd = options.initCwnd ?? info.initCwnd;
    this.cwnd = this.initCwnd;
    this.ssthresh = options.ssthresh ?? Infinity;
    this.reportMode = options.report ?? 'rtt';
    this.slowStartMode = options.slowStart ?? 'agent';
    const hs = options.hystart ?? hystartByDefault;
    this.hystart = hs === false || this.slowStartMode !== 'agent' ? undefined : new HyStart(hs === true ? {} : hs);
    if (this.slowStartMode !== 'agent' && this.cwnd < this.ssthresh) {
      installSlowStart(datapath, this.slowStartMode);
      this.inDatapathSlowStart = true;
    } else if (this.hystart !== undefined && this.cwnd < this.ssthresh && this.reportMode !== 'ack') {
      installReporting(datapath, 'ack');
      this.perAckSlowStart = true;
    } else {
      installReporting(datapath, this.reportMode);
    }
  }

  /** Congestion-avoidance growth for `acked` bytes beyond slow start. */
  protected abstract increase(m: Measurements, acked: number): void;
  /** The multiplicative decrease on loss; `ssthresh` is then set to the new cwnd. */
  protected abstract reduce(m: Measurements): void;
  /** Forget per-epoch state after a timeout. */
  protected reset(): void {}

  onReport(report: Report): void {
    let m = measure(report);
    if (m.rtt > 0) this.rtt = m.rtt;
    const minRtt = m.minRtt || m.rtt;
    if (minRtt > 0 && minRtt < this.minRtt) this.minRtt = minRtt;
    if (this.inDatapathSlowStart) {
      // The datapath grew cwnd by the acked bytes itself and reports only on loss:
      // take its window (without counting those bytes again), then leave slow start.
      this.inDatapathSlowStart = false;
      m = { ...m, acked: 0 };
      if (m.cwnd > 0) this.cwnd = m.cwnd;
      this.ssthresh = this.cwnd;
      installReporting(this.datapath, this.reportMode);
    }
    if (m.timeout) {
      this.onTimeout();
    } else {
      this.update(m);
    }
    this.lastReportUs = m.time;
    if (this.perAckSlowStart && (this.cwnd >= this.ssthresh || this.hystart?.active() !== true)) {
      this.perAckSlowStart = false;
      installReporting(this.datapath, this.reportMode);
    }
    this.push();
  }

  /** Slow start, congestion avoidance, then loss reduction; subclasses may add steps around it. */
  protected update(m: Measurements): void {
    const acked = this.slowStart(m, this.ackedAfterRecovery(m));
    if (acked > 0) this.increase(m, acked);
    this.reactToLoss(m);
  }

  /**
   * Grows cwnd by the acked bytes up to ssthresh (by a fraction of them in
   * HyStart++'s conservative slow start); returns the bytes left for
   * congestion avoidance.
   */
  protected slowStart(m: Measurements, acked: number): number {
    if (this.cwnd >= this.ssthresh) return acked;
    let grow = acked;
    const hs = this.hystart;
    if (hs !== undefined && hs.active()) {
      // Reports carry no send times: the newest data acked was sent one RTT before its ACK came, and each
      // acked packet gave a sample. On the datapath's clock: a report's arrival lags its ACK by an IPC hop
      // that varied by up to 14 ms, which split ACK trains between rounds (netns-compare.sh, 48 Mbit/s).
      const at = m.ackTime || m.time;
      grow = hs.onAck({
        acked,
        ackedPosition: at - m.rtt,
        nextPosition: at,
        rttSamples: m.rtt > 0 ? Math.max(1, Math.round(m.acked / this.mss)) : 0,
        rtt: m.minRtt || m.rtt,
        // The ACK-train exit as the native control has it; per-RTT reports come too far apart to form a train.
        time: this.cwnd >= 16 * this.mss ? at : undefined,
      });
      if (!hs.active()) {
        this.ssthresh = this.cwnd;
        return acked;
      }
    }
    const room = this.ssthresh - this.cwnd;
    if (grow <= room) {
      this.cwnd += grow;
      return 0;
    }
    this.cwnd = this.ssthresh;
    return acked - room;
  }

  /**
   * The report's acked bytes that arrived after the recovery period, taking
   * ACKs as spread evenly over its interval; `growthFromUs` becomes the
   * arrival of the first of them (the report's own time for a single ACK).
   */
  private ackedAfterRecovery(m: Measurements): number {
    const from = this.lastReportUs ?? m.time;
    const start = Math.max(from, this.recoveryEndUs);
    const acked = m.time < start ? 0 : m.time <= from ? m.acked : (m.acked * (m.time - start)) / (m.time - from);
    this.growthFromUs = start + (m.time - start) / Math.max(1, acked / this.mss);
    return acked;
  }

  /** One reduction per recovery period. */
  protected reactToLoss(m: Measurements): void {
    if (m.loss === 0 || m.time < this.recoveryEndUs + this.lossGraceUs) return;
    this.hystart?.exit();
    this.reduce(m);
    this.cwnd = Math.max(this.cwnd, 2 * this.mss);
    this.ssthresh = this.cwnd;
    this.recoveryEndUs = m.time + this.rtt;
    this.lossGraceUs = Number.isFinite(this.minRtt) ? this.minRtt / 4 : 0;
  }

  /**
   * Back to the initial window. The timeout declared everything in flight
   * lost, so later losses are of packets sent since: no recovery period.
   */
  protected onTimeout(): void {
    this.hystart?.exit();
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.initCwnd;
    this.recoveryEndUs = -Infinity;
    this.reset();
  }

  protected push(): void {
    const cwnd = Math.max(Math.round(this.cwnd), this.mss);
    if (this.slowStartMode === 'datapath-rate' && this.rtt > 0) {
      this.datapath.updateField({ cwnd, rate: Math.round((2 * cwnd * 1e6) / this.rtt) });
    } else {
      this.datapath.updateField({ cwnd });
    }
  }
}

/** Builds an `Algorithm` from a window-flow class; all built-ins share the generic programs. */
export function windowAlgorithm<O extends WindowOptions>(
  name: string,
  options: O,
  make: (dp: DatapathHandle<GenericProgram>, info: FlowInfo, options: O) => WindowFlow,
): Algorithm<WindowFlow, GenericProgram> {
  if (options.report !== undefined) checkReportMode(options.report);
  return {
    name,
    programs: GENERIC_PROGRAMS,
    newFlow: (dp, info) => make(dp, info, options),
  };
}
