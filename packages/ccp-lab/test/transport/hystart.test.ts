import { describe, expect, it } from 'vitest';
import { simulateFlow } from '../../src/sim/sim-path.js';

/** 48 Mbit/s, 20 ms RTT, a drop-tail buffer of one BDP. */
const LINK = { rateBps: 48e6, delayUs: 10_000, bufferBytes: (48e6 / 8) * 0.02 };

const lossesAtExit = (algorithm: 'reno' | 'cubic', hystart: boolean, bufferBytes: number): number =>
  simulateFlow({ bottleneck: { ...LINK, bufferBytes }, durationUs: 1_000_000, flow: { cc: { kind: 'native', algorithm, hystart } } }).flow.sender.stats.lostPackets;

describe('HyStart++ in simulation: 48 Mbit/s, 20 ms RTT', () => {
  for (const algorithm of ['reno', 'cubic'] as const) {
    it(`native ${algorithm} loses fewer packets leaving slow start with a 2 BDP buffer`, () => {
      expect(lossesAtExit(algorithm, true, 2 * LINK.bufferBytes)).toBeLessThan(lossesAtExit(algorithm, false, 2 * LINK.bufferBytes));
    });
  }

  it('with a 1 BDP buffer the ACK train ends slow start within the round that would overflow it', () => {
    // Unpaced slow start fills the buffer within one round, before the RTT test of the next round could see it.
    expect(lossesAtExit('cubic', true, LINK.bufferBytes)).toBeLessThan(lossesAtExit('cubic', false, LINK.bufferBytes) / 10);
  });

  it('at 12 Mbit/s and 50 ms (ACKs 2 ms apart) the ACK train still ends slow start before the 2 BDP buffer overflows', () => {
    const lost = (hystart: boolean): number =>
      simulateFlow({
        bottleneck: { rateBps: 12e6, delayUs: 25_000, bufferBytes: 2 * (12e6 / 8) * 0.05 },
        durationUs: 2_000_000,
        flow: { cc: { kind: 'native', algorithm: 'cubic', hystart } },
      }).flow.sender.stats.lostPackets;
    expect(lost(true)).toBeLessThan(lost(false) / 10);
  });
});
