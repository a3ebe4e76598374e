import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@bertha/core';
import { ackFrameBytes, dataFrameBytes, resolveOptions, TransportReceiver, TransportSender, type AckFrame, type DataFrame, type TransportSample } from '@bertha/ccp';
import { firstMismatch, makeMessages } from '@bertha/ccp/testing';
import { Link } from '../../src/link/link.js';
import { Simulator } from '../../src/sim/simulator.js';
import { simPath, simulateFlow } from '../../src/sim/sim-path.js';

/** 48 Mbit/s, 10 ms each way (20 ms RTT), a drop-tail buffer of one BDP. */
const RATE_BPS = 48e6;
const ONE_WAY_US = 10_000;
const BDP_BYTES = (RATE_BPS / 8) * ((2 * ONE_WAY_US) / 1e6);
const LINK = { rateBps: RATE_BPS, delayUs: ONE_WAY_US, bufferBytes: BDP_BYTES };

const SECOND = 1_000_000;
/** Queueing delay a full one-BDP buffer holds, plus one packet's transmission. */
const MAX_QUEUE_US = ((BDP_BYTES + 1500) * 8 * 1e6) / RATE_BPS;

describe('transport in simulation: filling a link', () => {
  for (const [name, cc] of [
    ['CCP Reno', { kind: 'ccp', algorithm: 'reno' }],
    ['native Reno', { kind: 'native', algorithm: 'reno' }],
    ['native Cubic', { kind: 'native', algorithm: 'cubic' }],
  ] as const) {
    it(`${name} fills 48 Mbit/s, 20 ms RTT, 1 BDP of buffer to ≥ 90 % with a bounded queue`, () => {
      const r = simulateFlow({ bottleneck: LINK, durationUs: 4 * SECOND, flow: { cc } });
      expect(r.utilisation).toBeGreaterThanOrEqual(0.9);
      expect(r.goodputBps).toBeGreaterThan(0.85 * RATE_BPS);
      expect(r.maxQueueDelayUs).toBeLessThanOrEqual(MAX_QUEUE_US);
      const s = r.flow.sender.stats;
      // The buffer overflowed (loss-based control) and the losses were repaired.
      expect(s.lostPackets).toBeGreaterThan(0);
      if (cc.kind === 'native') expect(s.timeouts).toBe(0);
      expect(s.minRttUs).toBeGreaterThanOrEqual(20_000);
      expect(r.flow.receiver.stats.malformed).toBe(0);
    });
  }

  it('CCP Copa fills 12 Mbit/s, 20 ms RTT, 1 BDP of buffer with a window near the BDP, through slow start overshoot', () => {
    // Copa once froze its window while a hole stalled the cumulative ACK, then jumped by thousands of packets when it filled.
    const link = { rateBps: 12e6, delayUs: 10_000, bufferBytes: 30_000 };
    const cwnds: number[] = [];
    const r = simulateFlow({ bottleneck: link, durationUs: 3 * SECOND, flow: { cc: { kind: 'ccp', algorithm: 'copa' }, onSample: (s) => s.tUs > 2 * SECOND && cwnds.push(s.cwnd) } });
    expect(r.goodputBps).toBeGreaterThan(0.85 * 12e6);
    const bdpPackets = (12e6 / 8) * 0.02 / 1448;
    expect(Math.max(...cwnds) / 1448).toBeLessThan(3 * bdpPackets);
    expect(r.flow.sender.stats.timeouts).toBe(0);
  });

  it('is deterministic: the same seed gives the same run', () => {
    const run = () => {
      const r = simulateFlow({ bottleneck: { ...LINK, loss: 0.01 }, durationUs: SECOND, seed: 3 });
      return { ...r.flow.sender.stats, delivered: r.flow.deliveredBytes };
    };
    expect(run()).toEqual(run());
  });

  it('runs the same with the compiled runtime and the interpreter (the host passes `runtime` to its datapath)', () => {
    const run = (runtime: 'compiled' | 'interpreter') => {
      const r = simulateFlow({ bottleneck: { ...LINK, loss: 0.01 }, durationUs: SECOND, seed: 5, agent: { runtime }, flow: { cc: { kind: 'ccp', algorithm: 'cubic' } } });
      expect(r.path.host?.datapath.runtime).toBe(runtime);
      return { ...r.flow.sender.stats, delivered: r.flow.deliveredBytes };
    };
    expect(run('compiled')).toEqual(run('interpreter'));
  });
});

describe('transport in simulation: reliability', () => {
  it('delivers every message once, in order, byte-identical through 5 % loss both ways and reordering', () => {
    const sim = new Simulator({ seed: 5 });
    const sent = makeMessages(1500, 5000);
    const got: Uint8Array[] = [];
    const path = simPath(sim, {
      bottleneck: { rateBps: 20e6, delayUs: 5000, bufferBytes: 200_000, loss: 0.05 },
      reverse: { delayUs: 5000, loss: 0.05 },
      reorder: { probability: 0.1, extraDelayUs: 3000 },
      flows: [{ bytes: 0, deliver: (m) => got.push(m) }],
    });
    const f = path.flows[0]!;
    for (const m of sent) f.send(m);
    // At 5 % loss Reno's window stays near 1.22/√p ≈ 5 packets: a few Mbit/s.
    sim.run({ untilUs: 20 * SECOND });
    path.close();
    expect(firstMismatch(sent, got)).toBe(-1);
    expect(f.sender.stats.retransmits).toBeGreaterThan(0);
    expect(f.receiver.stats.outOfOrder).toBeGreaterThan(0);
    // Lost ACKs and reordering made the sender resend packets that had arrived: they were suppressed, and each message delivered once.
    expect(f.receiver.stats.duplicates).toBeGreaterThan(0);
    expect(f.receiver.stats.messages).toBe(sent.length);
    expect(f.sender.idle).toBe(true);
  });

  it('recovers from a blackout with retransmission timeouts and exponential backoff', () => {
    const sim = new Simulator({ seed: 2 });
    const samples: TransportSample[] = [];
    const path = simPath(sim, {
      bottleneck: LINK,
      blackouts: [{ fromUs: SECOND, toUs: 1.7 * SECOND }],
      flows: [{ onSample: (s) => samples.push(s) }],
    });
    const f = path.flows[0]!;
    sim.run({ untilUs: SECOND });
    const before = f.deliveredBytes;
    sim.run({ untilUs: 1.7 * SECOND });
    const during = f.deliveredBytes - before;
    sim.run({ untilUs: 4 * SECOND });
    path.close();
    expect(path.blackoutDrops).toBeGreaterThan(0);
    // Only what was already in flight past the blackout gets through.
    expect(during).toBeLessThan(BDP_BYTES * 2);
    expect(f.sender.stats.timeouts).toBeGreaterThanOrEqual(2); // backed off at least once
    // The flow is back near link rate in the last second.
    const last = samples.filter((s) => s.tUs >= 3 * SECOND);
    const delivered = last[last.length - 1]!.deliveredBytes - last[0]!.deliveredBytes;
    expect((delivered * 8) / ((last[last.length - 1]!.tUs - last[0]!.tUs) / 1e6)).toBeGreaterThan(0.7 * RATE_BPS);
  });

  it('holds packets while the local send queue is full, and sends them when it drains', () => {
    const sim = new Simulator();
    const queue: Uint8Array[] = [];
    const sender = new TransportSender(sim, (p) => queue.push(p), { kind: 'native', algorithm: 'reno' }, resolveOptions({}), { blocked: () => queue.length >= 4 });
    sender.writeBulk(100_000);
    // The window allows 10 packets; only 4 fit the local queue, and only those count as in flight.
    expect(queue).toHaveLength(4);
    expect(sender.inflightBytes).toBe(4 * 1448);
    queue.length = 0;
    sender.resume();
    expect(queue).toHaveLength(4);
    expect(sender.inflightBytes).toBe(8 * 1448);
    sender.close();
  });

  it('counts ECN marks the link sets, echoed by the receiver', () => {
    const r = simulateFlow({ bottleneck: { ...LINK, ecnThresholdPackets: 20 }, durationUs: 2 * SECOND, flow: { cc: { kind: 'native', algorithm: 'reno' } } });
    const marked = r.path.dumbbell.bottleneck.stats.marked;
    expect(marked).toBeGreaterThan(0);
    expect(r.flow.receiver.stats.cePackets).toBe(marked - (r.path.dumbbell.bottleneck.stats.marked - r.flow.receiver.stats.cePackets));
    // Marks reach the sender through cumulative echo counts (the last ACKs may still be in flight).
    expect(r.flow.sender.stats.ecnPackets).toBeGreaterThan(0);
    expect(r.flow.sender.stats.ecnPackets).toBeLessThanOrEqual(r.flow.receiver.stats.cePackets);
    expect(r.flow.sender.stats.ecnBytes).toBeGreaterThan(0);
  });
});

/**
 * One native Cubic flow of messages over a lossy, ECN-marking 20 Mbit/s link
 * and a lossy ACK path, its packets moved as bytes or as frames.
 */
function runOverLinks(mode: 'bytes' | 'frames'): { sender: TransportSender; receiver: TransportReceiver; got: Uint8Array[]; sent: Uint8Array[] } {
  const sim = new Simulator({ seed: 5 });
  const o = resolveOptions({ maxReorderPackets: 64 });
  const got: Uint8Array[] = [];
  type Wire<F> = { readonly bytes: number; ce?: boolean; readonly packet: Uint8Array | undefined; readonly frame: F | undefined };
  const forward = new Link<Wire<DataFrame>>(sim, { rateBps: 20e6, delayUs: 5000, bufferBytes: 40_000, loss: 0.01, seed: 2, ecnThresholdBytes: 6_000 }, (p) => {
    if (p.packet !== undefined) receiver.onPacket(p.packet, p.ce === true);
    else receiver.onDataFrame(p.frame!, p.ce === true);
  });
  const reverse = new Link<Wire<AckFrame>>(sim, { delayUs: 5000, loss: 0.02, seed: 3 }, (p) => {
    if (p.packet !== undefined) sender.onAck(p.packet);
    else sender.onAckFrame(p.frame!);
  });
  const sender = new TransportSender(
    sim,
    mode === 'bytes' ? (packet) => forward.enqueue({ bytes: packet.byteLength, packet, frame: undefined }) : { frame: (frame) => forward.enqueue({ bytes: dataFrameBytes(frame), packet: undefined, frame }) },
    { kind: 'native', algorithm: 'cubic' },
    o,
  );
  const receiver = new TransportReceiver(
    sim,
    mode === 'bytes' ? (packet) => reverse.enqueue({ bytes: packet.byteLength, packet, frame: undefined }) : { frame: (frame) => reverse.enqueue({ bytes: ackFrameBytes(frame), packet: undefined, frame }) },
    o,
    (m) => got.push(m),
  );
  const sent = makeMessages(600, 20_000, 11);
  sender.writeBatch(sent);
  sim.run({ untilUs: 3 * SECOND });
  sender.close();
  receiver.close();
  return { sender, receiver, got, sent };
}

describe('transport in simulation: frames instead of bytes', () => {
  it('runs exactly as with encoded packets: same losses, ECN echoes, SACKs, RTT samples and messages', () => {
    const bytes = runOverLinks('bytes');
    const frames = runOverLinks('frames');
    // The run is not trivial: it lost, reordered (holes), marked and repaired packets.
    expect(bytes.sender.stats.retransmits).toBeGreaterThan(0);
    expect(bytes.receiver.stats.outOfOrder).toBeGreaterThan(0);
    expect(bytes.sender.stats.ecnPackets).toBeGreaterThan(0);
    expect(firstMismatch(bytes.sent, bytes.got)).toBe(-1);
    expect(frames.sender.stats).toEqual(bytes.sender.stats);
    expect(frames.receiver.stats).toEqual(bytes.receiver.stats);
    expect(firstMismatch(frames.sent, frames.got)).toBe(-1);
  });

  it('counts and drops frames the decoders would refuse', () => {
    const sim = new Simulator();
    const o = resolveOptions({});
    const sender = new TransportSender(sim, { frame: () => {} }, { kind: 'native', algorithm: 'reno' }, o);
    const receiver = new TransportReceiver(sim, { frame: () => {} }, o);
    sender.write(new Uint8Array(5000)); // packets 0-3 sent
    const ack = (cumAck: number, blocks: number[]): AckFrame => ({ cumAck, tsecr: 0, cePackets: 0, ceBytes: 0, blocks });
    for (const bad of [ack(5, []), ack(1, [3, 5]), ack(1, [1, 2]), ack(1, [3, 3]), ack(0, [2])]) sender.onAckFrame(bad);
    expect(sender.stats.malformedAcks).toBe(5);
    expect(sender.stats.acks).toBe(0);
    sender.onAckFrame(ack(1, [2, 4]));
    expect(sender.stats.acks).toBe(1);
    receiver.onDataFrame({ seq: 0, flags: 4, tsval: 0, payload: new Uint8Array(10) });
    expect(receiver.stats.malformed).toBe(1);
    expect(receiver.stats.packets).toBe(0);
    sender.close();
    receiver.close();
  });
});

describe('transport in simulation: malformed packets', () => {
  it('never throws on random bytes: sender and receiver count and drop them', () => {
    const sim = new Simulator();
    const o = resolveOptions({});
    const out: Uint8Array[] = [];
    const sender = new TransportSender(sim, (p) => out.push(p), { kind: 'native', algorithm: 'reno' }, o);
    const receiver = new TransportReceiver(sim, (p) => out.push(p), o, () => {});
    sender.write(new Uint8Array(5000));
    const rand = mulberry32(9);
    for (let i = 0; i < 20_000; i++) {
      const b = Uint8Array.from({ length: Math.floor(rand() * 60) }, () => Math.floor(rand() * 256));
      if (b.length > 0) b[0] = rand() < 0.5 ? 0xc1 : 0xc2;
      receiver.onPacket(b);
      sender.onAck(b);
    }
    sim.run({ untilUs: 100_000 });
    expect(receiver.stats.malformed + receiver.stats.packets + receiver.stats.overflow).toBeGreaterThan(0);
    expect(sender.stats.malformedAcks).toBeGreaterThan(19_000);
    sender.close();
    receiver.close();
  });
});

describe('transport in simulation: CCP agent fallback', () => {
  it('falls back to native Reno when the agent stops answering, and re-attaches when it returns', () => {
    const sim = new Simulator({ seed: 4 });
    const fallbacks: boolean[] = [];
    const path = simPath(sim, {
      bottleneck: LINK,
      agent: { fallbackTimeoutUs: 300_000 },
      flows: [{ onSample: (s) => (fallbacks.length === 0 || fallbacks[fallbacks.length - 1] !== s.fallback) && fallbacks.push(s.fallback) }],
    });
    const f = path.flows[0]!;
    const host = path.host!;
    sim.run({ untilUs: SECOND });
    expect(host.agent!.flowCount).toBe(1);
    expect(f.sender.inFallback).toBe(false);

    host.setAgentReachable(false);
    sim.run({ untilUs: 1.2 * SECOND });
    expect(f.sender.inFallback).toBe(false); // not yet: within the fallback timeout
    sim.run({ untilUs: 2 * SECOND });
    expect(f.sender.inFallback).toBe(true);
    expect(f.sender.stats.fallbacks).toBe(1);
    const atFallback = f.deliveredBytes;
    sim.run({ untilUs: 2.5 * SECOND });
    // Native Reno keeps the flow going meanwhile.
    expect(f.deliveredBytes - atFallback).toBeGreaterThan(0.5 * (RATE_BPS / 8) * 0.5);

    host.setAgentReachable(true);
    sim.run({ untilUs: 3 * SECOND });
    expect(f.sender.inFallback).toBe(false);
    expect(host.agent!.flowCount).toBe(1);
    const reports = host.agent!.stats.reports;
    sim.run({ untilUs: 3.5 * SECOND });
    expect(host.agent!.stats.reports).toBeGreaterThan(reports); // the agent drives the flow again
    path.close();
    expect(fallbacks).toEqual([false, true, false]);
  });
});
