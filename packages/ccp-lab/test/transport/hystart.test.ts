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

  it('with a 1 BDP buffer the queue overflows in the round HyStart++ would first see it, so it loses no more than without', () => {
    // Unpaced slow start fills the buffer within one round; HyStart++ compares round minima, so it sees the rise a round late.
    expect(lossesAtExit('cubic', true, LINK.bufferBytes)).toBeLessThanOrEqual(lossesAtExit('cubic', false, LINK.bufferBytes));
  });
});
