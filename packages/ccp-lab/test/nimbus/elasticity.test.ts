import { mulberry32 } from '@bertha/core';
import { describe, expect, it } from 'vitest';
import { ElasticityDetector } from '../../src/nimbus/elasticity.js';
import { nimbus } from '../../src/nimbus/nimbus.js';
import { asymmetricPulse } from '../../src/nimbus/pulse.js';

const SAMPLE_US = 10_000;
const SIZE = 512;
const PULSE_BIN = 26;
const PERIOD_US = (SIZE * SAMPLE_US) / PULSE_BIN;
/** Pulse amplitude, bytes/s: a quarter of a 48 Mbit/s link. */
const A = 1.5e6;

/** ẑ over one window: `base(t)` plus Gaussian-ish noise (sum of uniforms) of `noise` bytes/s. */
function series(base: (tUs: number) => number, noise: number, seed: number): number[] {
  const rand = mulberry32(seed);
  return Array.from({ length: SIZE }, (_, i) => base(i * SAMPLE_US) + noise * (rand() + rand() + rand() - 1.5));
}

describe('ElasticityDetector (fft.js)', () => {
  const detector = new ElasticityDetector({ size: SIZE, pulseBin: PULSE_BIN });
  const pulseAmplitude = detector.analyze(Array.from({ length: SIZE }, (_, i) => asymmetricPulse(i * SAMPLE_US, PERIOD_US, A))).amplitude;

  it('the asymmetric pulse has zero mean and a strong component at its own frequency', () => {
    const p = Array.from({ length: SIZE }, (_, i) => asymmetricPulse(i * SAMPLE_US, PERIOD_US, A));
    expect(Math.abs(p.reduce((a, b) => a + b, 0) / SIZE)).toBeLessThan(0.01 * A);
    expect(Math.max(...p)).toBeCloseTo(A, -3);
    expect(Math.min(...p)).toBeCloseTo(-A / 3, -3);
    expect(pulseAmplitude).toBeGreaterThan(0.3 * A);
  });

  it('elastic cross traffic (answering each pulse, with noise and a lag) is detected in every seed', () => {
    for (let seed = 1; seed <= 20; seed++) {
      // ACK-clocked traffic backs off while we pulse up, one RTT later, by a third of our pulse.
      const z = series((t) => 3e6 - 0.33 * asymmetricPulse(t - 60_000, PERIOD_US, A), 0.3e6, seed);
      const s = detector.analyze(z);
      expect(s.elasticity).toBeGreaterThan(2);
      expect(s.amplitude / pulseAmplitude).toBeGreaterThan(0.2);
    }
  });

  it('inelastic cross traffic (constant rate, noise, a step as a flow starts) is not', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const z = series((t) => (t < 2e6 ? 2e6 : 3e6), 0.3e6, seed);
      const s = detector.analyze(z);
      expect(s.elasticity).toBeLessThan(2);
      expect(s.amplitude / pulseAmplitude).toBeLessThan(0.1);
    }
  });

  it('a flat series has η 0; only the last `size` samples count', () => {
    expect(detector.elasticity(new Array<number>(SIZE).fill(5))).toBe(0);
    const elastic = Array.from({ length: SIZE }, (_, i) => -asymmetricPulse(i * SAMPLE_US, PERIOD_US, A));
    expect(detector.elasticity([...new Array<number>(100).fill(7), ...elastic])).toBe(detector.elasticity(elastic));
  });

  it('rejects windows that are not powers of two, pulse bins outside the band, and short series', () => {
    expect(() => new ElasticityDetector({ size: 500 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new ElasticityDetector({ size: 64, pulseBin: 16 })).toThrow(/pulse bin/);
    expect(() => detector.elasticity([1, 2, 3])).toThrow(/needs 512 samples/);
  });
});

describe('nimbus options', () => {
  it('estimates μ by default, and rejects a pinned bottleneck rate that is not positive and out-of-range tuning with a clear error', () => {
    expect(nimbus().name).toBe('nimbus');
    expect(() => nimbus({ bottleneckBps: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/bottleneck rate/) }));
    expect(() => nimbus({ bottleneckBps: 48e6, pulseFraction: 2 })).toThrow(/pulseFraction/);
    expect(() => nimbus({ bottleneckBps: 48e6, sampleUs: 10 })).toThrow(/sampleUs/);
    expect(nimbus({ bottleneckBps: 48e6 }).name).toBe('nimbus');
  });
});
