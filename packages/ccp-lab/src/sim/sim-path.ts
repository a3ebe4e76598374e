/**
 * The transport in virtual time: senders and receivers wired through a
 * link/ `Dumbbell` on a `Simulator`, with no promise per packet, so a
 * 96 Mbit/s flow runs many times faster than real time. CCP flows share one
 * datapath runtime and an in-process agent on the simulator's clock.
 */
import { InvalidArgumentError } from '@bertha/core';
import { Dumbbell, type FlowPacket } from '../link/dumbbell.js';
import type { LinkOptions } from '../link/link.js';
import { Simulator } from './simulator.js';
import {
  ackFrameBytes,
  dataFrameBytes,
  inProcessCcpHost,
  resolveOptions,
  TransportReceiver,
  TransportSender,
  type CcpHost,
  type CcpHostOptions,
  type AckFrame,
  type CongestionControlOptions,
  type DataFrame,
  type SenderControl,
  type TransportOptions,
  type TransportSample,
} from '@bertha/ccp';

/**
 * A packet on the simulated links: its size on the wire, the ECN mark, and
 * the transport's frame, never encoded (nothing on a simulated path reads the
 * bytes; see `PacketSink`). Exactly one of `data` and `ack` is set.
 */
export interface SimPacket extends FlowPacket {
  readonly data: DataFrame | undefined;
  readonly ack: AckFrame | undefined;
}

export interface SimFlowSpec {
  /** Default `{ kind: 'ccp', algorithm: 'reno' }`. */
  readonly cc?: CongestionControlOptions;
  /** When the flow starts sending, µs. Default 0. */
  readonly startUs?: number;
  /** Bytes to send as a bulk transfer; omit to send until the run ends; 0 to send only what `send` queues. */
  readonly bytes?: number;
  readonly onSample?: (s: TransportSample) => void;
  /** Reassemble and hand over every message (otherwise payloads are only counted). */
  readonly deliver?: (msg: Uint8Array) => void;
}

export interface SimPathOptions extends Omit<TransportOptions, 'cc' | 'onSample'> {
  /** The shared forward link (rate or trace, delay, buffer, loss, ECN marking). */
  readonly bottleneck: LinkOptions;
  readonly flows: readonly SimFlowSpec[];
  /** Each flow's ACK path; default: no queue, the bottleneck's delay plus the access delay. */
  readonly reverse?: LinkOptions;
  readonly accessDelayUs?: number | readonly number[];
  /** Seeds the links' loss and the reordering. Default 1. */
  readonly seed?: number;
  /** The in-process agent of CCP flows (algorithms, IPC delay, fallback timeout). */
  readonly agent?: Omit<CcpHostOptions, 'clock' | 'agentPath' | 'datapathPath'>;
  /** Bytes added to each packet on the links, e.g. IPv4 + UDP. Default 28. */
  readonly overheadBytes?: number;
  /** Windows during which every packet, both ways, is lost. */
  readonly blackouts?: readonly { readonly fromUs: number; readonly toUs: number }[];
  /** Holds back this fraction of data packets by `extraDelayUs` after the bottleneck. */
  readonly reorder?: { readonly probability: number; readonly extraDelayUs: number };
}

export interface SimFlow {
  readonly index: number;
  readonly sender: TransportSender;
  readonly receiver: TransportReceiver;
  readonly startUs: number;
  /** Payload bytes delivered in order to the receiver. */
  readonly deliveredBytes: number;
  /** µs from start until `bytes` were delivered; undefined while unfinished or unsized. */
  readonly completionUs: number | undefined;
  /** Queues one message on the flow. */
  send(msg: Uint8Array): void;
}

export interface SimPath {
  readonly flows: readonly SimFlow[];
  readonly dumbbell: Dumbbell<SimPacket>;
  /** The CCP host of the path, when a flow uses CCP. */
  readonly host: CcpHost | undefined;
  /** Packets lost to blackouts. */
  readonly blackoutDrops: number;
  /** Stops every flow's timers and closes the path's own CCP host. */
  close(): void;
}

class SimFlowImpl implements SimFlow {
  deliveredBytes = 0;
  completionUs: number | undefined;
  constructor(
    readonly index: number,
    readonly sender: TransportSender,
    readonly receiver: TransportReceiver,
    readonly startUs: number,
  ) {}
  send(msg: Uint8Array): void {
    this.sender.write(msg);
  }
}

export function simPath(sim: Simulator, opts: SimPathOptions): SimPath {
  if (opts.flows.length === 0) throw new InvalidArgumentError('simPath needs at least one flow');
  const o = resolveOptions(opts);
  const overhead = opts.overheadBytes ?? 28;
  const blackouts = opts.blackouts ?? [];
  const reorder = opts.reorder;
  if (reorder !== undefined && !(reorder.probability >= 0 && reorder.probability <= 1 && reorder.extraDelayUs >= 0)) {
    throw new InvalidArgumentError('reorder needs a probability in [0, 1] and a non-negative extraDelayUs');
  }
  const dumbbell = new Dumbbell<SimPacket>(sim, {
    flows: opts.flows.length,
    bottleneck: opts.bottleneck,
    reverse: opts.reverse,
    accessDelayUs: opts.accessDelayUs,
    seed: opts.seed,
  });
  let host: CcpHost | undefined;
  let drops = 0;
  const blackedOut = (): boolean => {
    if (blackouts.length === 0) return false;
    const now = sim.now();
    return blackouts.some((b) => now >= b.fromUs && now < b.toUs);
  };
  const rand = sim.rng();
  const flows = opts.flows.map((spec, i) => {
    const cc: CongestionControlOptions = spec.cc ?? { kind: 'ccp' };
    let control: SenderControl;
    if (cc.kind === 'native') {
      control = cc;
    } else {
      const h = cc.host ?? (host ??= inProcessCcpHost({ ...opts.agent, clock: sim }));
      control = { kind: 'ccp', host: h, algorithm: cc.algorithm ?? 'reno' };
    }
    const endpoints = { srcIp: 0x0a000001, srcPort: 10_000 + i, dstIp: 0x0a000002, dstPort: 20_000 + i };
    const sender = new TransportSender(
      sim,
      {
        frame: (data) => {
          if (blackedOut()) drops++;
          else dumbbell.sendData({ flow: i, bytes: dataFrameBytes(data) + overhead, data, ack: undefined });
        },
      },
      control,
      o,
      { onSample: spec.onSample, endpoints },
    );
    const receiver = new TransportReceiver(
      sim,
      {
        frame: (ack) => {
          if (blackedOut()) drops++;
          else dumbbell.sendAck({ flow: i, bytes: ackFrameBytes(ack) + overhead, data: undefined, ack });
        },
      },
      o,
      spec.deliver,
    );
    const flow = new SimFlowImpl(i, sender, receiver, spec.startUs ?? 0);
    const size = spec.bytes;
    receiver.onData = (n) => {
      flow.deliveredBytes += n;
      if (size !== undefined && size > 0 && flow.completionUs === undefined && flow.deliveredBytes >= size) flow.completionUs = sim.now() - flow.startUs;
    };
    dumbbell.onAck(i, (p) => {
      if (p.ack !== undefined) sender.onAckFrame(p.ack);
    });
    dumbbell.onData(i, (p) => {
      const data = p.data;
      if (data === undefined) return;
      if (reorder !== undefined && rand() < reorder.probability) sim.after(reorder.extraDelayUs, () => receiver.onDataFrame(data, p.ce === true));
      else receiver.onDataFrame(data, p.ce === true);
    });
    if (size !== 0) sim.at(Math.max(flow.startUs, sim.now()), () => sender.writeBulk(size ?? Infinity));
    return flow;
  });
  return {
    flows,
    dumbbell,
    host,
    get blackoutDrops() {
      return drops;
    },
    close() {
      for (const f of flows) {
        f.sender.close();
        f.receiver.close();
      }
      void host?.close();
    },
  };
}

export interface SimulateFlowOptions extends Omit<SimPathOptions, 'flows'> {
  /** Simulated time to run, µs. */
  readonly durationUs: number;
  /** The flow (default: backlogged CCP Reno). */
  readonly flow?: SimFlowSpec;
}

export interface SimulateFlowResult {
  readonly sim: Simulator;
  readonly path: SimPath;
  readonly flow: SimFlow;
  /** Payload bits delivered in order per second of the run. */
  readonly goodputBps: number;
  /** Bottleneck bytes transmitted over its capacity (`Link.utilisation()`). */
  readonly utilisation: number;
  /** Mean and maximum queueing delay at the bottleneck, µs. */
  readonly meanQueueDelayUs: number;
  readonly maxQueueDelayUs: number;
}

/** Runs one flow over a bottleneck for `durationUs` of virtual time and summarises it. */
export function simulateFlow(opts: SimulateFlowOptions): SimulateFlowResult {
  const sim = new Simulator({ seed: opts.seed });
  const path = simPath(sim, { ...opts, flows: [opts.flow ?? {}] });
  sim.run({ untilUs: opts.durationUs });
  path.close();
  const flow = path.flows[0]!;
  const link = path.dumbbell.bottleneck;
  return {
    sim,
    path,
    flow,
    goodputBps: (flow.deliveredBytes * 8 * 1e6) / opts.durationUs,
    utilisation: link.utilisation(),
    meanQueueDelayUs: link.stats.departed === 0 ? 0 : link.stats.queueDelaySumUs / link.stats.departed,
    maxQueueDelayUs: link.stats.queueDelayMaxUs,
  };
}
