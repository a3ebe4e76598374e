import { describe, expect, it } from 'vitest';
import { Dumbbell, type FlowPacket } from '../../src/link/dumbbell.js';
import { Simulator } from '../../src/sim/simulator.js';

interface Seg extends FlowPacket {
  seq: number;
}

describe('Dumbbell', () => {
  it('routes each flow through the shared bottleneck and back on its own reverse path', () => {
    const sim = new Simulator();
    const net = new Dumbbell<Seg>(sim, {
      flows: 3,
      bottleneck: { rateBps: 12e6, delayUs: 10_000 },
      accessDelayUs: [0, 1_000, 2_000],
    });
    const rtts: number[][] = [[], [], []];
    const sentAt = new Map<string, number>();
    for (let f = 0; f < 3; f++) {
      net.onData(f, (p) => net.sendAck({ flow: p.flow, seq: p.seq, bytes: 40 }));
      net.onAck(f, (p) => rtts[f]!.push(sim.now() - sentAt.get(`${p.flow}:${p.seq}`)!));
    }
    for (let f = 0; f < 3; f++) {
      sim.at(f * 100_000, () => {
        sentAt.set(`${f}:0`, sim.now());
        net.sendData({ flow: f, seq: 0, bytes: 1500 });
      });
    }
    sim.run();
    // Base RTT: twice the one-way delay, plus 1 ms to serialise 1500 bytes at 12 Mbit/s.
    expect(rtts).toEqual([[21_000], [23_000], [25_000]]);
  });

  it('builds a 50-to-1 incast whose bottleneck queue overflows', () => {
    const sim = new Simulator();
    const net = new Dumbbell<Seg>(sim, { flows: 50, bottleneck: { rateBps: 1e9, delayUs: 50, bufferPackets: 64 } });
    const received = new Array<number>(50).fill(0);
    for (let f = 0; f < 50; f++) net.onData(f, () => received[f]!++);
    for (let f = 0; f < 50; f++) for (let s = 0; s < 4; s++) net.sendData({ flow: f, seq: s, bytes: 1500 });
    sim.run();
    expect(net.bottleneck.stats.dropped).toBe(200 - 64);
    expect(received.reduce((a, b) => a + b, 0)).toBe(64);
  });

  it('rejects unknown flows', () => {
    const net = new Dumbbell<Seg>(new Simulator(), { flows: 2, bottleneck: {} });
    expect(() => net.sendData({ flow: 2, seq: 0, bytes: 1 })).toThrow(/flows are 0 to 1/);
    expect(() => new Dumbbell<Seg>(new Simulator(), { flows: 2, bottleneck: {}, accessDelayUs: [1] })).toThrow(/one per flow/);
  });
});
