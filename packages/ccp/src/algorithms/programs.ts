/**
 * The datapath programs and reporting modes shared by every built-in
 * algorithm (portus's "generic congestion avoidance" programs): one set of
 * Report fields, several ways of deciding when to report.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { DatapathHandle } from '../agent/algorithm.js';
import type { Report } from '../agent/report.js';

/** When the datapath sends reports: once per RTT (default), on every ACK, or every `intervalUs`. */
export type ReportMode = 'rtt' | 'ack' | { readonly intervalUs: number };

/**
 * Where slow start runs: in the agent (cwnd doubles per RTT of reports), or in
 * the datapath (`Cwnd += bytes_acked` on every ACK, reporting only on loss or
 * timeout); `datapath-rate` also paces at twice the delivery rate meanwhile,
 * and keeps pacing at 2·cwnd/RTT afterwards.
 */
export type SlowStartMode = 'agent' | 'datapath-window' | 'datapath-rate';

export interface ReportingOptions {
  readonly report?: ReportMode;
}

/** Fields reported by every generic program. */
export type GenericField = 'acked' | 'sacked' | 'loss' | 'timeout' | 'rtt' | 'minrtt' | 'inflight' | 'ecn' | 'rate' | 'cwnd' | 'now';
export type GenericReport = Report<GenericField>;
export type GenericProgram = 'rtt' | 'ack' | 'interval' | 'ss-window' | 'ss-rate';

const DEFS = `(def
  (Report
    (volatile acked 0) (volatile sacked 0) (volatile loss 0) (volatile timeout false)
    (volatile rtt 0) (volatile minrtt +infinity) (volatile inflight 0) (volatile ecn 0)
    (volatile rate 0) (volatile cwnd 0) (volatile now 0))
  (reportTime 0))`;

/** Folds one ACK into the Report fields: sums of acked/sacked/lost/ECN bytes, latest and minimum RTT, maximum delivery rate, the latest ACK's time. */
function accumulate(extra = '', last = '(fallthrough)'): string {
  return `(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.timeout Flow.was_timeout)
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= Report.inflight Flow.packets_in_flight)
    (:= Report.ecn (+ Report.ecn Ack.ecn_bytes))
    (:= Report.rate (max Report.rate (min Flow.rate_incoming Flow.rate_outgoing)))${extra}
    (:= Report.cwnd Cwnd)
    (:= Report.now Ack.now)
    ${last})`;
}

const ON_LOSS = `(when (|| Report.timeout (> Report.loss 0)) (report) (:= Micros 0))`;

/** Program sources by name; every built-in algorithm declares all of them. */
export const GENERIC_PROGRAMS: Readonly<Record<GenericProgram, string>> = {
  rtt: `${DEFS}\n${accumulate()}\n${ON_LOSS}\n(when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))`,
  ack: `${DEFS}\n${accumulate('', '(report)')}`,
  interval: `${DEFS}\n${accumulate()}\n${ON_LOSS}\n(when (> Micros reportTime) (report) (:= Micros 0))`,
  'ss-window': `${DEFS}\n${accumulate('\n    (:= Cwnd (+ Cwnd Ack.bytes_acked))')}\n${ON_LOSS}`,
  'ss-rate': `${DEFS}\n${accumulate('\n    (:= Cwnd (+ Cwnd Ack.bytes_acked))\n    (:= Rate (* Flow.rate_incoming 2))')}\n${ON_LOSS}`,
};

/** RTT samples at or above this mean "no sample yet" (the datapath reads 0 as 0xFFFFFFFF). */
const NO_RTT = 0xffff_ffff;

/** One report's congestion signals, in bytes, packets and µs. */
export interface Measurements {
  readonly acked: number;
  readonly sacked: number;
  readonly loss: number;
  readonly timeout: boolean;
  /** Latest RTT sample, µs; 0 if none yet. */
  readonly rtt: number;
  /** Smallest RTT sample since the last report, µs; 0 if none. */
  readonly minRtt: number;
  /** Packets in flight. */
  readonly inflight: number;
  readonly ecnBytes: number;
  /** Highest delivery rate (min of incoming and outgoing rate) since the last report, bytes/s. */
  readonly rate: number;
  /** The datapath's cwnd at the last ACK, bytes. */
  readonly cwnd: number;
  /** Agent time of arrival, µs. */
  readonly time: number;
  /**
   * The datapath's clock at the latest ACK, µs (0 when the report does not
   * say): when ACKs arrived, which reports batched over IPC do not tell.
   */
  readonly ackTime: number;
}

const rttOf = (v: number): number => (v >= NO_RTT ? 0 : v);

export function measure(report: Report): Measurements {
  const r = report as GenericReport;
  return {
    acked: r.acked,
    sacked: r.sacked,
    loss: r.loss,
    timeout: r.timeout !== 0,
    rtt: rttOf(r.rtt),
    minRtt: rttOf(r.minrtt),
    inflight: r.inflight,
    ecnBytes: r.ecn,
    rate: r.rate,
    cwnd: r.cwnd,
    time: report.time,
    ackTime: r.now ?? 0,
  };
}

export function checkReportMode(mode: ReportMode): void {
  if (typeof mode === 'object' && !(Number.isInteger(mode.intervalUs) && mode.intervalUs > 0 && mode.intervalUs < 2 ** 32)) {
    throw new InvalidArgumentError(`report interval must be a whole number of µs in [1, 2^32), got ${mode.intervalUs}`);
  }
}

/** Selects the program that reports as `mode` asks. */
export function installReporting(dp: DatapathHandle<GenericProgram>, mode: ReportMode = 'rtt'): void {
  if (mode === 'rtt' || mode === 'ack') dp.setProgram(mode);
  else dp.setProgram('interval', { reportTime: mode.intervalUs });
}

/** Selects the in-datapath slow-start program for `mode`. */
export function installSlowStart(dp: DatapathHandle<GenericProgram>, mode: 'datapath-window' | 'datapath-rate'): void {
  dp.setProgram(mode === 'datapath-window' ? 'ss-window' : 'ss-rate');
}
