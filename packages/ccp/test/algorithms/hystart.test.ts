import { describe, expect, it } from 'vitest';
import { HyStart } from '../../src/algorithms/hystart.js';

/** Feeds one round of `n` ACKs with RTT `rtt`, each acking 1 unit; positions are round numbers. */
function round(hs: HyStart, r: number, rtt: number, n = 8): number {
  let grown = 0;
  for (let i = 0; i < n; i++) grown += hs.onAck({ acked: 1, ackedPosition: r, nextPosition: r + 1, rttSamples: 1, rtt });
  return grown;
}

describe('HyStart++ (RFC 9406)', () => {
  it('counts a round when an ACK covers data sent since the round began', () => {
    const hs = new HyStart();
    hs.onAck({ acked: 1, ackedPosition: 0, nextPosition: 10, rttSamples: 1, rtt: 20_000 });
    expect(hs.rounds).toBe(1);
    hs.onAck({ acked: 1, ackedPosition: 9, nextPosition: 20, rttSamples: 1, rtt: 20_000 });
    expect(hs.rounds).toBe(1);
    hs.onAck({ acked: 1, ackedPosition: 10, nextPosition: 30, rttSamples: 1, rtt: 20_000 });
    expect(hs.rounds).toBe(2);
  });

  it('stays in slow start while the RTT rises less than the threshold, and grows by all acked', () => {
    const hs = new HyStart();
    expect(round(hs, 0, 20_000)).toBe(8);
    expect(round(hs, 1, 23_900)).toBe(8); // +3.9 ms < MIN_RTT_THRESH 4 ms
    expect(hs.phase).toBe('slow-start');
  });

  it('needs N_RTT_SAMPLE samples before it compares rounds', () => {
    const hs = new HyStart();
    round(hs, 0, 20_000);
    round(hs, 1, 40_000, 7);
    expect(hs.phase).toBe('slow-start');
    round(hs, 1, 40_000, 1);
    expect(hs.phase).toBe('css');
  });

  it('enters CSS on a rise of the clamped threshold and grows by acked / CSS_GROWTH_DIVISOR', () => {
    const hs = new HyStart();
    round(hs, 0, 200_000); // threshold min(200/8, 16) = 16 ms
    round(hs, 1, 215_000);
    expect(hs.phase).toBe('slow-start');
    round(hs, 2, 232_000);
    expect(hs.phase).toBe('css');
    expect(round(hs, 3, 232_000)).toBe(2);
  });

  it('goes back to slow start when the RTT falls below the CSS baseline', () => {
    const hs = new HyStart();
    round(hs, 0, 20_000);
    round(hs, 1, 30_000);
    expect(hs.phase).toBe('css');
    round(hs, 2, 25_000);
    expect(hs.phase).toBe('slow-start');
  });

  it('leaves for congestion avoidance after CSS_ROUNDS rounds of CSS, and for good on a loss', () => {
    const hs = new HyStart();
    round(hs, 0, 20_000);
    round(hs, 1, 30_000);
    for (let r = 2; r < 6; r++) {
      round(hs, r, 30_000);
      expect(hs.phase).toBe('css');
    }
    expect(round(hs, 6, 30_000)).toBe(0);
    expect(hs.active()).toBe(false);
    const lost = new HyStart();
    lost.exit();
    expect(round(lost, 0, 20_000)).toBe(0);
    expect(lost.phase).toBe('done');
  });

  describe("Linux's ACK-train exit (when ACK times are given)", () => {
    /** A round of ACKs `gapUs` apart from `t0`, 20 ms RTT samples; returns the phase after each. */
    function train(hs: HyStart, r: number, t0: number, gapUs: number, n: number): string[] {
      const phases: string[] = [];
      for (let i = 0; i < n; i++) {
        hs.onAck({ acked: 1, ackedPosition: r, nextPosition: r + 1, rttSamples: 1, rtt: 20_000, time: t0 + i * gapUs });
        phases.push(hs.phase);
      }
      return phases;
    }

    it('ends slow start once the ACKs of one round arrive back to back for more than half the min RTT', () => {
      const hs = new HyStart();
      train(hs, 0, 0, 250, 8);
      // 250 µs apart: the train passes 10 ms at the 41st ACK of the round.
      const phases = train(hs, 1, 100_000, 250, 60);
      expect(phases.indexOf('done')).toBe(41);
      expect(hs.active()).toBe(false);
    });

    it('ACKs more than 2 ms apart on average end the train for the rest of the round', () => {
      const hs = new HyStart();
      train(hs, 0, 0, 250, 8);
      expect(train(hs, 1, 100_000, 2_600, 60)).not.toContain('done');
      // The next round's train starts afresh.
      expect(train(hs, 2, 300_000, 250, 60)).toContain('done');
    });

    /** One round of ACKs at the given times, 20 ms RTT samples; returns the index of the first 'done' (-1: none). */
    function roundAt(hs: HyStart, r: number, times: readonly number[]): number {
      return times.findIndex((time) => {
        hs.onAck({ acked: 1, ackedPosition: r, nextPosition: r + 1, rttSamples: 1, rtt: 20_000, time });
        return hs.phase === 'done';
      });
    }

    it('a late ACK and the burst behind it (a paused event loop) do not end the train', () => {
      const hs = new HyStart();
      train(hs, 0, 0, 250, 8);
      // Due every 250 µs; ACKs 10 to 21 are read together 3 ms late.
      const times = Array.from({ length: 60 }, (_, i) => 100_000 + (i >= 10 && i <= 21 ? 10 * 250 + 3_000 : i * 250));
      expect(roundAt(hs, 1, times)).toBe(41);
    });

    it('keeps the train of an ACK per two packets at 12 Mbit/s, 2.0 ms apart give or take a scheduling delay', () => {
      const hs = new HyStart();
      train(hs, 0, 0, 250, 8);
      let t = 100_000;
      const times = Array.from({ length: 30 }, (_, i) => (t += i % 2 === 0 ? 2_300 : 1_750));
      expect(roundAt(hs, 1, times)).toBeGreaterThan(0);
    });

    it('a single gap longer than ackTrainMaxGap (8 ms) ends the train even when the mean keeps pace', () => {
      const hs = new HyStart();
      train(hs, 0, 0, 250, 8);
      const times = Array.from({ length: 60 }, (_, i) => 100_000 + i * 250 + (i >= 10 ? 8_500 : 0));
      expect(roundAt(hs, 1, times)).toBe(-1);
      expect(hs.ackTrainMaxGap).toBe(8_000);
    });

    it('keeps the 2 ms gap on long paths: ACKs a shared, paced queue spreads over the round are no train', () => {
      const run = (gapUs: number): string => {
        const hs = new HyStart();
        const round = (r: number, t0: number, n: number): void => {
          for (let i = 0; i < n; i++) hs.onAck({ acked: 2, ackedPosition: r, nextPosition: r + 1, rttSamples: 1, rtt: 50_000, time: t0 + i * gapUs });
        };
        round(0, 0, 8);
        round(1, 100_000, 30);
        return hs.phase;
      };
      expect(run(1_900)).toBe('done');
      expect(run(2_500)).toBe('slow-start');
    });
  });
});
