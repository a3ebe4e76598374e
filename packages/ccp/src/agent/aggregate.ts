/**
 * Fair-share aggregation (thesis §4.7.3): the flows of one datapath to one
 * destination host share a single instance of an inner algorithm, whose
 * window (and rate) is divided equally among the live member flows.
 */
import type { AggregateFlow, Algorithm, DatapathHandle, FieldUpdates, Flow } from './algorithm.js';
import type { FlowInfo } from './flow-info.js';
import type { Report } from './report.js';

export interface FairShareOptions {
  /** Name of the aggregate algorithm (default `aggregate-<inner name>`). */
  readonly name?: string;
  /** Which flows share a window (default: same destination IP). */
  readonly aggregateBy?: (info: FlowInfo) => string | undefined;
}

/** The inner algorithm's flow plus the members it controls through a virtual handle. */
export class FairShareAggregate<P extends string = string> implements AggregateFlow {
  /** Member flows' handles by socket id. */
  readonly members = new Map<number, DatapathHandle<P>>();
  readonly inner: Flow;
  /** The handle the inner flow drives; its program is the members' program. */
  private readonly shared: { info: FlowInfo; program: P | undefined } & Omit<DatapathHandle<P>, 'info' | 'program'>;
  private controls: Readonly<Record<string, number>> | undefined;
  private cwnd: number | undefined;
  private rate: number | undefined;

  constructor(algorithm: Algorithm<Flow, P>, first: DatapathHandle<P>, info: FlowInfo) {
    this.members.set(info.sid, first);
    this.shared = {
      info,
      program: undefined,
      setProgram: (name, controls) => this.setProgram(name, controls),
      updateField: (u) => this.updateField(u),
    };
    this.inner = algorithm.newFlow(this.shared, info);
  }

  /** Each member's share of the aggregate window, bytes (at least one MSS). */
  share(value: number, mss: number): number {
    return Math.max(Math.floor(value / Math.max(this.members.size, 1)), mss);
  }

  add(handle: DatapathHandle<P>): void {
    this.members.set(handle.info.sid, handle);
    if (this.shared.program !== undefined) handle.setProgram(this.shared.program, this.controls);
    this.pushShares();
  }

  onReport(report: Report): void {
    this.inner.onReport(report);
  }

  closeSubflow(info: FlowInfo): void {
    this.members.delete(info.sid);
    this.pushShares();
  }

  close(): void {
    this.inner.close?.();
  }

  private setProgram(name: P, controls?: Readonly<Record<string, number>>): void {
    this.shared.program = name;
    this.controls = controls;
    for (const m of this.members.values()) m.setProgram(name, controls);
  }

  private updateField(u: FieldUpdates): void {
    if (u.cwnd !== undefined) this.cwnd = u.cwnd;
    if (u.rate !== undefined) this.rate = u.rate;
    if (u.controls !== undefined) this.controls = { ...this.controls, ...u.controls };
    for (const m of this.members.values()) m.updateField(this.memberUpdate(m, u.controls));
  }

  private pushShares(): void {
    for (const m of this.members.values()) m.updateField(this.memberUpdate(m, undefined));
  }

  private memberUpdate(m: DatapathHandle<P>, controls: Readonly<Record<string, number>> | undefined): FieldUpdates {
    return {
      ...(this.cwnd === undefined ? {} : { cwnd: this.share(this.cwnd, m.info.mss) }),
      ...(this.rate === undefined ? {} : { rate: Math.max(Math.floor(this.rate / Math.max(this.members.size, 1)), 1) }),
      ...(controls === undefined ? {} : { controls }),
    };
  }
}

const byDestination = (info: FlowInfo): string => String(info.dst.ip);

/**
 * Wraps `inner` so that flows to the same destination share one instance of
 * it: the inner flow sees every member's reports (`report.flow` tells which)
 * and its cwnd/rate is split equally among the members still open.
 */
export function fairShare<P extends string>(inner: Algorithm<Flow, P>, options: FairShareOptions = {}): Algorithm<FairShareAggregate<P>, P> {
  return {
    name: options.name ?? `aggregate-${inner.name}`,
    programs: inner.programs,
    aggregateBy: options.aggregateBy ?? byDestination,
    newFlow: (dp, info) => new FairShareAggregate(inner, dp, info),
    newSubflow: (aggregate, dp) => aggregate.add(dp),
  };
}
