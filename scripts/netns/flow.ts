/**
 * What `netns-compare.sh` measures of one bulk flow, whatever carries it:
 * Linux TCP (read from `ss`) or the CCP transport (read from its samples).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/** A flow's counters at one instant. */
export interface FlowProbe {
  /** Payload bytes the receiver has acknowledged. */
  readonly ackedBytes: number;
  /** Smoothed RTT, µs; 0 before the first sample. */
  readonly srttUs: number;
  /** Smallest RTT seen so far, µs; 0 before the first sample. */
  readonly minRttUs: number;
  /** Packets the sender declared lost (CCP transport) or retransmitted (TCP), in total. */
  readonly lossEvents: number;
  /** Congestion window, bytes (0 when the sender does not say). */
  readonly cwndBytes: number;
  /** The congestion control actually in use, as the sender reports it. */
  readonly algorithm: string;
}

/** A backlogged flow, sending from the moment it is returned until closed. */
export interface BulkFlow {
  probe(): Promise<FlowProbe>;
  close(): Promise<void>;
}

export interface Measurement {
  readonly algorithm: string;
  readonly goodputMbps: number;
  readonly minRttMs: number;
  /** Mean of the SRTT sampled every `intervalMs` over the window. */
  readonly meanSrttMs: number;
  readonly lossEvents: number;
}

export interface MeasureOptions {
  /** Left out of the window, so slow start does not count. */
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly intervalMs?: number;
}

/**
 * Goodput over the window after the warm-up, and SRTT sampled at a fixed
 * interval (the same way for TCP and for the transport, so the means compare).
 */
export async function measure(flow: BulkFlow, o: MeasureOptions): Promise<Measurement> {
  const interval = o.intervalMs ?? 100;
  await sleep(o.warmupMs);
  const t0 = performance.now();
  const first = await flow.probe();
  const end = t0 + o.windowMs;
  let last = first;
  let t1 = t0;
  let srttSum = 0;
  let srttCount = 0;
  while (t1 < end) {
    await sleep(Math.min(interval, end - t1));
    t1 = performance.now();
    last = await flow.probe();
    if (last.srttUs > 0) {
      srttSum += last.srttUs;
      srttCount++;
    }
  }
  return {
    algorithm: last.algorithm,
    goodputMbps: ((last.ackedBytes - first.ackedBytes) * 8) / ((t1 - t0) * 1000),
    minRttMs: last.minRttUs / 1000,
    meanSrttMs: srttCount === 0 ? 0 : srttSum / srttCount / 1000,
    lossEvents: last.lossEvents,
  };
}
