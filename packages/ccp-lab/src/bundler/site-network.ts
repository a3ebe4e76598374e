/**
 * Two sites joined by one bottleneck, in the simulator: requests (one
 * transport flow each, native Cubic at the endhosts) from the sending site
 * to the receiving site, under one of four setups:
 *
 * - `status-quo`: a drop-tail FIFO bottleneck, nothing else;
 * - `fq`: the bottleneck itself does fair queueing (SFQ at link rate);
 * - `bundler-sfq` / `bundler-fifo`: a sendbox (Copa over the bundle, with
 *   SFQ or FIFO) before the drop-tail bottleneck, a receivebox after it,
 *   congestion ACKs back over the reverse path.
 *
 * Records each request's completion time. Deterministic for a given setup,
 * workload and seed.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ackFrameBytes, dataFrameBytes, inProcessCcpHost, resolveOptions, TransportReceiver, TransportSender, type AckFrame, type CcpHost, type DataFrame, type SenderControl } from '@bertha/ccp';
import { InvalidArgumentError } from '@bertha/core';
import type { RunControl } from '../experiments/scenario.js';
import { Link } from '../link/link.js';
import { Simulator } from '../sim/simulator.js';
import type { EpochEstimate } from './epoch-meter.js';
import { FifoScheduler } from './fifo-scheduler.js';
import { GroundTruth } from './ground-truth.js';
import type { InvariantHeader } from './header-hash.js';
import { PacedQueue } from './paced-queue.js';
import { Receivebox, type EpochFeedback } from './receivebox.js';
import type { Scheduler } from './scheduler.js';
import { bundleCopa, Sendbox, type BundlePacket } from './sendbox.js';
import { SfqScheduler } from './sfq-scheduler.js';
import type { Request } from './workload.js';

export const SETUPS = ['status-quo', 'fq', 'bundler-sfq', 'bundler-fifo'] as const;
export type Setup = (typeof SETUPS)[number];

export interface SiteNetworkOptions {
  readonly setup: Setup;
  /** Bottleneck capacity, bits/s. */
  readonly rateBps: number;
  /** Base RTT, µs (half each way). */
  readonly rttUs: number;
  /** Bottleneck buffer, bytes. */
  readonly bufferBytes: number;
  /** Sendbox buffer, bytes. Default 2 × `bufferBytes`. */
  readonly sendboxBufferBytes?: number;
  readonly requests: readonly Request[];
  /** Simulated time to run, µs: requests unfinished by then have no completion time. */
  readonly durationUs: number;
  readonly mss?: number;
  readonly seed?: number;
  /** Record every packet's departure and arrival, and check each estimate against them. */
  readonly truth?: boolean;
}

export interface SiteNetworkResult {
  /** Per request (same order), µs from its start until its last byte arrived; undefined if unfinished. */
  readonly fctUs: readonly (number | undefined)[];
  /** Bottleneck: mean and maximum queueing delay (µs), drops. */
  readonly bottleneck: { readonly meanQueueUs: number; readonly maxQueueUs: number; readonly drops: number };
  /** Bundler setups: sendbox drops, epoch statistics, every estimate (and its error, with `truth`). */
  readonly sendbox?: {
    readonly drops: number;
    readonly periodChanges: number;
    readonly matched: number;
    readonly skipped: number;
    readonly unmatched: number;
    readonly estimates: readonly EpochEstimate[];
    readonly errors: readonly { rttUs: number; sendRateBps: number; recvRateBps: number }[];
  };
}

interface SitePacket extends BundlePacket {
  readonly flow: number;
  readonly data: DataFrame;
  ce?: boolean;
  /** When it left the sendbox (ground truth only). */
  departedUs?: number;
}

/** IPv4 + UDP, as on the transport's own sockets. */
const OVERHEAD = 28;
/**
 * The endhosts stand for Linux hosts, as in the paper: Cubic whose ACK train
 * ends at the first gap over 2 ms, since a kernel times its ACKs exactly
 * (the transport's default takes the 2 ms on average, for user-space
 * senders' late reads; under SFQ's turns that strings a flow's ACKs into a
 * train, and seed 2's Bundler+SFQ went from 0.68× to 0.99× the status quo).
 */
const LINUX_CUBIC: SenderControl = { kind: 'native', algorithm: 'cubic', hystart: { ackTrainMaxGap: 2000 } };
const SLICES = 40;

export async function runSiteNetwork(o: SiteNetworkOptions, control: RunControl = {}): Promise<SiteNetworkResult> {
  if (!(o.rateBps > 0 && o.rttUs > 0 && o.bufferBytes > 0 && o.durationUs > 0)) {
    throw new InvalidArgumentError('runSiteNetwork needs a positive rateBps, rttUs, bufferBytes and durationUs');
  }
  const sim = new Simulator({ seed: o.seed ?? 1 });
  const mss = o.mss ?? 1448;
  const topts = resolveOptions({ mss });
  const oneWay = o.rttUs / 2;
  const fct: (number | undefined)[] = o.requests.map(() => undefined);
  const live = new Map<number, { sender: TransportSender; receiver: TransportReceiver }>();
  const bundler = o.setup === 'bundler-sfq' || o.setup === 'bundler-fifo';
  const truth = o.truth === true && bundler ? new GroundTruth(oneWay) : undefined;
  let receivebox: Receivebox | undefined;

  // Receiving side: the receivebox sees every bundle packet, then the flow's receiver gets it.
  const egress = (p: SitePacket): void => {
    if (receivebox !== undefined) {
      receivebox.onPacket(p.header, p.bytes);
      if (truth !== undefined && p.departedUs !== undefined) truth.arrived(sim.now(), p.bytes, p.departedUs);
    }
    live.get(p.flow)?.receiver.onDataFrame(p.data, p.ce === true);
  };
  const fifoBottleneck = new Link<SitePacket>(sim, { rateBps: o.rateBps, delayUs: oneWay, bufferBytes: o.bufferBytes, seed: o.seed }, egress);
  let toBottleneck: (p: SitePacket) => void = (p) => fifoBottleneck.enqueue(p);
  let fqQueue: PacedQueue<SitePacket> | undefined;
  if (o.setup === 'fq') {
    const propagation = new Link<SitePacket>(sim, { delayUs: oneWay }, egress);
    const q = new PacedQueue<SitePacket>(sim, new SfqScheduler({ limitBytes: o.bufferBytes }), (p) => propagation.enqueue(p), { rate: o.rateBps / 8 });
    fqQueue = q;
    toBottleneck = (p) => q.enqueue(p, p.flow);
  }
  const acks = new Link<{ readonly flow: number; readonly ack: AckFrame; readonly bytes: number }>(sim, { delayUs: oneWay }, (p) => live.get(p.flow)?.sender.onAckFrame(p.ack));

  let host: CcpHost | undefined;
  let sendbox: Sendbox<SitePacket> | undefined;
  const estimates: EpochEstimate[] = [];
  const errors: { rttUs: number; sendRateBps: number; recvRateBps: number }[] = [];
  if (bundler) {
    host = inProcessCcpHost({ clock: sim, algorithms: [bundleCopa()] });
    const scheduler: Scheduler<SitePacket> =
      o.setup === 'bundler-sfq' ? new SfqScheduler({ limitBytes: o.sendboxBufferBytes ?? 2 * o.bufferBytes }) : new FifoScheduler({ limitBytes: o.sendboxBufferBytes ?? 2 * o.bufferBytes });
    // Out-of-band messages between the boxes cross the WAN without queueing (they are few and small).
    const feedback = new Link<{ bytes: number; fb: EpochFeedback }>(sim, { delayUs: oneWay }, (m) => sendbox!.onFeedback(m.fb));
    const periods = new Link<{ bytes: number; n: number }>(sim, { delayUs: oneWay }, (m) => receivebox!.setPeriod(m.n));
    receivebox = new Receivebox((fb) => feedback.enqueue({ bytes: 64, fb }));
    sendbox = new Sendbox<SitePacket>(host, {
      scheduler,
      mss: mss + OVERHEAD,
      out: (p) => {
        if (truth !== undefined) {
          p.departedUs = sim.now();
          truth.departed(sim.now(), p.bytes);
        }
        toBottleneck(p);
      },
      sendPeriod: (n) => periods.enqueue({ bytes: 64, n }),
      onEstimate: (e) => {
        if (truth !== undefined) errors.push(truth.errorOf(e, estimates.at(-1)));
        estimates.push(e);
      },
    });
  }
  const ingress = sendbox === undefined ? toBottleneck : (p: SitePacket) => sendbox.enqueue(p, p.flow);

  const start = (i: number): void => {
    const r = o.requests[i]!;
    const header = { srcIp: 0x0a000000 + 1 + Math.floor(i / 60_000), dstIp: 0x0a010001, srcPort: 1024 + (i % 60_000), dstPort: 443 };
    let ipId = 0;
    const sender = new TransportSender(
      sim,
      {
        frame: (data) => {
          const h: InvariantHeader = { ...header, ipId: ipId++ & 0xffff };
          ingress({ flow: i, data, bytes: dataFrameBytes(data) + OVERHEAD, header: h });
        },
      },
      LINUX_CUBIC,
      topts,
    );
    const receiver = new TransportReceiver(sim, { frame: (ack) => acks.enqueue({ flow: i, ack, bytes: ackFrameBytes(ack) + OVERHEAD }) }, topts);
    let got = 0;
    receiver.onData = (n) => {
      got += n;
      if (got < r.bytes || fct[i] !== undefined) return;
      fct[i] = sim.now() - r.startUs;
      // The request is done: later packets and ACKs of the flow find no one.
      live.delete(i);
      sim.defer(() => {
        sender.close();
        receiver.close();
      });
    };
    live.set(i, { sender, receiver });
    sender.writeBulk(r.bytes);
  };
  o.requests.forEach((r, i) => {
    if (!(r.bytes > 0 && r.startUs >= 0)) throw new InvalidArgumentError(`request ${i} needs bytes > 0 and startUs >= 0`);
    if (r.startUs < o.durationUs) sim.at(r.startUs, () => start(i));
  });
  try {
    for (let k = 1; k <= SLICES; k++) {
      control.signal?.throwIfAborted();
      sim.run({ untilUs: (o.durationUs * k) / SLICES });
      control.onProgress?.(k / SLICES);
      await yieldToLoop();
    }
  } finally {
    for (const f of live.values()) {
      f.sender.close();
      f.receiver.close();
    }
    sendbox?.close();
    await host?.close();
  }
  const st = fifoBottleneck.stats;
  const sb = sendbox;
  return {
    fctUs: fct,
    bottleneck: {
      meanQueueUs: st.departed > 0 ? st.queueDelaySumUs / st.departed : 0,
      maxQueueUs: st.queueDelayMaxUs,
      drops: st.dropped + (fqQueue?.scheduler.drops ?? 0),
    },
    ...(sb !== undefined
      ? { sendbox: { ...sb.stats, matched: sb.meter.stats.matched, skipped: sb.meter.stats.skipped, unmatched: sb.meter.stats.unmatched, estimates, errors } }
      : {}),
  };
}
