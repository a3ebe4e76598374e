/**
 * Copa (NSDI '18): target rate 1/(δ·d_q) packets/s, where the queueing delay
 * d_q is the standing RTT (smallest RTT of the last report interval) minus
 * the min RTT (10 s window). cwnd moves toward the target by v/(δ·cwnd)
 * packets per ACK; the velocity v doubles each RTT after three RTTs in the
 * same direction and resets to 1 when the direction changes. Slow start
 * doubles cwnd per RTT until the target is exceeded. Pacing is 2·cwnd/RTT
 * (after slow start, `pacingGain`).
 *
 * A report stands for many ACKs: their number is the packets it delivered,
 * SACKed or in order (see `deliveredPackets`), and the per-ACK steps are
 * summed as they would have been taken, each with the cwnd of its time,
 * stopping at the target.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { Algorithm, DatapathHandle, Flow } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import type { Report } from '../agent/report.js';
import { checkReportMode, GENERIC_PROGRAMS, installReporting, measure, type GenericProgram, type ReportingOptions } from './programs.js';

export interface CopaOptions extends ReportingOptions {
  /** δ: trade-off between throughput and delay (default 0.5). */
  readonly delta?: number;
  /**
   * Do not grow cwnd while the flow is application-limited (fewer than half
   * of cwnd's packets in flight), as RFC 7661's cwnd validation. Default
   * false. A flow that carries less than the path holds otherwise grows its
   * window without bound; an aggregate such as Bundler's bundle (84 of
   * 96 Mbit/s offered) then paces its next surge at 2·cwnd/RTT straight
   * into the bottleneck, whose queueing spike makes Copa's target collapse
   * to a few packets. While under three quarters are in flight, cwnd grows
   * at velocity 1: a window the flow does not fill says nothing of the
   * path's room, and velocity built on it took Bundler's bundle from 0.6 to
   * 1.6 BDPs in 0.25 s.
   */
  readonly holdWhenAppLimited?: boolean;
  /**
   * After slow start, keep cwnd within [low, high] × the delivery rate ×
   * min RTT (once a rate is reported): at most a halving or doubling per
   * RTT of what the path delivered. Default none. Copa's velocity doubles
   * every RTT it keeps one direction, and its target lags the queue by the
   * report's RTT, so on a long feedback loop it overshoots both ways: Bundler's bundle went from
   * 0.2 to 2.2 BDPs within 0.2 s, filled the bottleneck's buffer, then fell
   * to 10 packets in one report while its sendbox queue overflowed.
   */
  readonly deliveryBounds?: readonly [low: number, high: number];
  /**
   * Pacing rate over cwnd/RTT after slow start (default 2, as published).
   * A sender paced at twice its window's rate sends it in bursts, whose own
   * queueing Copa then reads as d_q. Slow start always paces at 2: at the
   * window's own rate a report's window only arrives a report later, and
   * cwnd grows by about 1.6× per RTT instead of 2×.
   */
  readonly pacingGain?: number;
}

const MIN_RTT_WINDOW_US = 10_000_000;
const SAME_DIRECTION_RTTS = 3;

export class CopaFlow implements Flow {
  readonly delta: number;
  readonly holdWhenAppLimited: boolean;
  readonly deliveryBounds: readonly [number, number] | undefined;
  readonly pacingGain: number;
  /** cwnd, bytes. */
  cwnd: number;
  velocity = 1;
  slowStart = true;
  /** Min RTT estimate, µs. */
  minRtt = Infinity;
  private minRttStamp = 0;
  /** Start of the current velocity RTT, with the cwnd then. */
  private rttStart: number | undefined;
  private rttStartCwnd = 0;
  private direction = 0;
  private sameDirection = 0;
  /** Packets SACKed and not yet covered by the cumulative ACK. */
  private sackedOut = 0;
  private readonly mss: number;

  constructor(
    private readonly datapath: DatapathHandle<GenericProgram>,
    info: FlowInfo,
    options: CopaOptions = {},
  ) {
    this.mss = info.mss;
    this.cwnd = info.initCwnd;
    this.delta = options.delta ?? 0.5;
    this.holdWhenAppLimited = options.holdWhenAppLimited ?? false;
    this.deliveryBounds = options.deliveryBounds;
    this.pacingGain = options.pacingGain ?? 2;
    installReporting(datapath, options.report);
  }

  /** Target window for a standing RTT, packets (Infinity with no queueing). */
  targetPackets(standingRtt: number): number {
    const dq = standingRtt - this.minRtt;
    return dq > 0 ? standingRtt / (this.delta * dq) : Infinity;
  }

  onReport(report: Report): void {
    const m = measure(report);
    const standing = m.minRtt || m.rtt;
    if (standing === 0) return;
    if (standing <= this.minRtt || m.time - this.minRttStamp > MIN_RTT_WINDOW_US) {
      this.minRtt = standing;
      this.minRttStamp = m.time;
    }
    const target = this.targetPackets(standing);
    const packets = this.cwnd / this.mss;
    const delivered = this.deliveredPackets(m.acked, m.sacked);
    const hold = this.holdWhenAppLimited && m.inflight * this.mss * 2 < this.cwnd;
    if (this.slowStart && packets < target) {
      if (!hold) this.cwnd += delivered * this.mss;
    } else {
      this.slowStart = false;
      const next = this.step(packets, target, delivered) * this.mss;
      this.cwnd = Math.max(hold && next > this.cwnd ? this.cwnd : next, 2 * this.mss);
      this.updateVelocity(m.time, standing);
      if (this.holdWhenAppLimited && next > packets * this.mss && m.inflight * this.mss * 4 < this.cwnd * 3) this.velocity = 1;
    }
    if (this.deliveryBounds !== undefined && !this.slowStart && m.rate > 0) {
      const bdp = (m.rate * this.minRtt) / 1e6;
      this.cwnd = Math.min(Math.max(this.cwnd, this.deliveryBounds[0] * bdp), Math.max(this.deliveryBounds[1] * bdp, 2 * this.mss));
    }
    this.datapath.updateField({ cwnd: Math.round(this.cwnd), rate: Math.round(((this.slowStart ? 2 : this.pacingGain) * this.cwnd * 1e6) / standing) });
  }

  /**
   * Packets delivered in a report: the SACKed ones, plus those the cumulative
   * ACK covers that were not SACKed before. `acked` alone stalls while a hole
   * is open (Copa would freeze under loss) and then counts the whole SACKed
   * window at once (a giant step when the hole fills). Which covered packets
   * had been SACKed is not reported; taking them to be SACKed ones first can
   * shift a packet from one report to a later one, never change the total.
   */
  private deliveredPackets(ackedBytes: number, sacked: number): number {
    const covered = ackedBytes / this.mss;
    const wereSacked = Math.min(this.sackedOut + sacked, covered);
    this.sackedOut += sacked - wereSacked;
    return sacked + covered - wereSacked;
  }

  /**
   * cwnd, packets, after `acks` ACKs of ±v/(δ·cwnd) each: w·dw = v/δ per ACK,
   * so w² moves by 2·v·acks/δ; per-ACK Copa turns around at the target.
   */
  private step(packets: number, target: number, acks: number): number {
    const up = packets <= target;
    // Velocity built up moving one way does not carry over to the other.
    if (this.direction !== 0 && this.direction !== (up ? 1 : -1)) this.velocity = 1;
    const change = (2 * this.velocity * acks) / this.delta;
    if (up) return Math.min(Math.sqrt(packets * packets + change), target);
    return Math.max(Math.sqrt(Math.max(packets * packets - change, 0)), target);
  }

  /** Once per RTT: compare cwnd with its value an RTT ago. */
  private updateVelocity(now: number, rtt: number): void {
    if (this.rttStart === undefined) {
      this.rttStart = now;
      this.rttStartCwnd = this.cwnd;
      return;
    }
    if (now - this.rttStart < rtt) return;
    const direction = Math.sign(this.cwnd - this.rttStartCwnd);
    if (direction !== 0 && direction === this.direction) {
      this.sameDirection += 1;
      if (this.sameDirection >= SAME_DIRECTION_RTTS) this.velocity *= 2;
    } else {
      this.sameDirection = 0;
      this.velocity = 1;
    }
    this.direction = direction;
    this.rttStart = now;
    this.rttStartCwnd = this.cwnd;
  }
}

export function copa(options: CopaOptions = {}): Algorithm<CopaFlow, GenericProgram> {
  if (options.report !== undefined) checkReportMode(options.report);
  const b = options.deliveryBounds;
  if (b !== undefined && !(b[0] >= 0 && b[1] >= b[0] && b[1] > 0)) {
    throw new InvalidArgumentError(`deliveryBounds must be 0 <= low <= high with high > 0, got [${b[0]}, ${b[1]}]`);
  }
  if (options.pacingGain !== undefined && !(options.pacingGain > 0 && options.pacingGain < Infinity)) {
    throw new InvalidArgumentError(`pacingGain must be a positive finite number, got ${options.pacingGain}`);
  }
  return { name: 'copa', programs: GENERIC_PROGRAMS, newFlow: (dp, info) => new CopaFlow(dp, info, options) };
}
