/**
 * The algorithm API: what a congestion-control author implements, and the
 * handle through which a flow drives its datapath. Kept free of IPC details so
 * algorithms can be unit-tested with a fake handle (see `testing.ts`).
 */
import type { FlowInfo } from './flow-info.js';
import type { Report } from './report.js';

/** Values pushed to the datapath: implicit Cwnd (bytes) and Rate (bytes/s), and control variables by name. */
export interface FieldUpdates {
  readonly cwnd?: number;
  readonly rate?: number;
  readonly controls?: Readonly<Record<string, number>>;
}

/**
 * A flow's view of its datapath. Calls are fire-and-forget messages: they take
 * effect at the datapath's next ACK. `P` names the algorithm's programs.
 */
export interface DatapathHandle<P extends string = string> {
  readonly info: FlowInfo;
  /** The program this flow last selected, if any. */
  readonly program: P | undefined;
  /**
   * Runs program `name` for this flow from its next ACK on, with its Report and
   * control registers reset to their `def` values, then `initialControls` applied.
   * Throws `ERR_CCP_UNKNOWN_PROGRAM` for a name the algorithm does not declare.
   */
  setProgram(name: P, initialControls?: Readonly<Record<string, number>>): void;
  /**
   * Sets Cwnd, Rate and/or control variables of the current program. Throws
   * `ERR_CCP_INVALID_UPDATE` for a control the current program lacks, or a
   * value that is negative, not finite or not below 2^53.
   */
  updateField(updates: FieldUpdates): void;
}

/** One flow's congestion controller. */
export interface Flow {
  /** A MEASURE from this flow's current program. */
  onReport(report: Report): void;
  /** The flow ended (close from the datapath, the datapath restarted, or the agent closed). */
  close?(): void;
}

/** An aggregate of flows (thesis §4.7.3): one controller, many member flows. */
export interface AggregateFlow extends Flow {
  /** A member flow ended; the aggregate itself ends (`close`) with its last member. */
  closeSubflow?(info: FlowInfo): void;
}

/** A congestion-control algorithm. `F` is its flow type; `P` names its programs. */
export interface Algorithm<F extends Flow = Flow, P extends string = string> {
  /** Matched against the algorithm name in CREATE. */
  readonly name: string;
  /** Datapath programs by name, compiled once when the agent starts and installed on every datapath. */
  readonly programs: Readonly<Record<P, string>>;
  /** A new flow (or, with `aggregateBy`, the first flow of a new aggregate). */
  newFlow(datapath: DatapathHandle<P>, info: FlowInfo): F;
  /**
   * Classifies a new flow into an aggregate: flows of one datapath with the
   * same key share one `F`. `undefined` means the flow stands alone.
   */
  aggregateBy?(info: FlowInfo): string | undefined;
  /**
   * A flow joined an existing aggregate. Its reports then go to the
   * aggregate's `onReport` (`report.flow` tells which member sent it).
   */
  newSubflow?(aggregate: F, datapath: DatapathHandle<P>, info: FlowInfo): void;
}
