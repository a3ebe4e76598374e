/**
 * A scenario: a bottleneck link, flows (each CCP-driven or native, with a
 * start time and optionally a size), a duration; and what running it
 * records: per-flow deliveries binned in time, completion times, cwnd/rate/
 * RTT samples, the bottleneck's queueing delays. Every experiment is one or
 * more scenarios; this is the only place that drives the transport.
 */
import type { Algorithm, ReportMode, SlowStartMode, TransportOptions } from '@bertha/ccp';
import type { LinkOptions, LinkStats, QueueDelaySample } from '../link/link.js';
import { BinnedCounter, type Point } from './metrics.js';

/** Who controls a flow: an algorithm in the CCP agent, or the transport's native Reno/Cubic. */
export type CcSpec =
  | {
      readonly kind: 'ccp';
      /** A built-in algorithm name: reno, cubic, bbr, copa, vegas, dctcp, aggregate-reno. */
      readonly algorithm: string;
      readonly report?: ReportMode;
      readonly slowStart?: SlowStartMode;
    }
  | { readonly kind: 'native'; readonly algorithm: 'reno' | 'cubic' };

export interface FlowSpec {
  readonly cc: CcSpec;
  /** When the flow starts, µs. Default 0. */
  readonly startUs?: number;
  /** Bytes to send; undefined sends until the end of the run. */
  readonly bytes?: number;
}

export interface Scenario {
  readonly bottleneck: LinkOptions;
  readonly flows: readonly FlowSpec[];
  readonly durationUs: number;
  /** Width of the throughput bins, µs (e.g. one base RTT). */
  readonly binUs: number;
  /** How often to sample cwnd/rate/RTT, µs. Default `binUs`. */
  readonly sampleUs?: number;
  /** Delay the agent's replies reach the datapath after, µs (staleness of control). Default 0. */
  readonly agentDelayUs?: number;
  /** Transport timing, e.g. a datacenter's short RTO and ACK delay. Defaults: the transport's. */
  readonly transport?: Pick<TransportOptions, 'minRtoUs' | 'initialRtoUs' | 'ackDelayUs' | 'ackEvery' | 'initCwndPackets'>;
  readonly seed?: number;
  /** Algorithms the agent offers besides the built-ins (e.g. Nimbus, constant-rate cross traffic), named by `CcSpec.algorithm`. */
  readonly algorithms?: readonly Algorithm[];
}

export interface FlowSample {
  readonly atUs: number;
  /** Bytes. */
  readonly cwnd: number;
  /** Bytes/s; 0 when the flow is not paced. */
  readonly rate: number;
  /** Smoothed RTT, µs. */
  readonly rttUs: number;
}

export interface FlowRecord {
  readonly spec: FlowSpec;
  /** Payload bytes delivered (acked in order or SACKed, as the sender learns it), per `binUs` since time 0. */
  readonly delivered: BinnedCounter;
  /** Payload bytes the receiver got in order by the end. */
  readonly deliveredBytes: number;
  /** When the last byte of a sized flow arrived, µs after the flow started; undefined if it did not finish. */
  readonly completionUs: number | undefined;
  readonly samples: readonly FlowSample[];
}

export interface ScenarioResult {
  readonly flows: readonly FlowRecord[];
  /** Queueing delay of every packet at the bottleneck. */
  readonly queueDelays: readonly QueueDelaySample[];
  readonly link: Readonly<LinkStats>;
}

/** Queueing delay samples as [µs, ms] points. */
export const queueDelayPoints = (r: ScenarioResult): Point[] => r.queueDelays.map((q) => [q.atUs, q.delayUs / 1000] as const);

/** How a caller follows and stops one run. */
export interface RunControl {
  readonly signal?: AbortSignal;
  /** Fraction of the run done, 0 to 1. */
  readonly onProgress?: (fraction: number) => void;
}
