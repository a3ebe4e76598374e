import { describe, expect, it } from 'vitest';
import { reno, RenoFlow } from '../../src/algorithms/reno.js';
import { flowInfo } from '../../src/agent/testing.js';
import { handle, MSS, report } from './helpers.js';

describe('reno', () => {
  it('installs the per-RTT program by default and the chosen reporting mode otherwise', () => {
    const a = handle();
    reno({ hystart: false }).newFlow(a, a.info);
    expect(a.programs).toEqual([{ name: 'rtt', controls: undefined }]);
    const b = handle();
    reno({ report: 'ack' }).newFlow(b, b.info);
    expect(b.program).toBe('ack');
    const c = handle();
    reno({ report: { intervalUs: 10_000 }, hystart: false }).newFlow(c, c.info);
    expect(c.programs).toEqual([{ name: 'interval', controls: { reportTime: 10_000 } }]);
  });

  it("reports per ACK during HyStart++'s slow start, then as chosen once it ends", () => {
    const a = handle();
    const flow = reno().newFlow(a, a.info);
    expect(a.programs).toEqual([{ name: 'ack', controls: undefined }]);
    flow.onReport(report({ acked: MSS, rtt: 20_000, minrtt: 20_000 }, 1_000, 'ack'));
    expect(a.program).toBe('ack');
    flow.onReport(report({ acked: MSS, loss: 1, rtt: 20_000, minrtt: 20_000 }, 2_000, 'ack'));
    expect(a.program).toBe('rtt');
    const c = handle();
    const f = reno({ report: { intervalUs: 10_000 } }).newFlow(c, c.info);
    f.onReport(report({ loss: 1, rtt: 20_000 }, 1_000, 'ack'));
    expect(c.programs.at(-1)).toEqual({ name: 'interval', controls: { reportTime: 10_000 } });
  });

  it("HyStart++'s rounds and ACK train run on the datapath's ACK times, however late reports arrive", () => {
    const a = handle();
    const flow = reno().newFlow(a, a.info);
    const ack = (now: number, lag: number): void =>
      flow.onReport(report({ acked: MSS, rtt: 20_000, minrtt: 20_000, now }, now + lag, 'ack'));
    for (let i = 0; i < 8; i++) ack(1_000 + i * 250, 0);
    // One round's ACKs 250 µs apart, whose reports fall further behind (an agent busy elsewhere):
    // the train passes half the min RTT (10 ms) at its 41st ACK.
    let ended = -1;
    for (let i = 0; i < 60 && ended < 0; i++) {
      ack(100_000 + i * 250, i * 600);
      if (a.program === 'rtt') ended = i;
    }
    expect(ended).toBe(41);
  });

  it('rejects a bad report interval', () => {
    expect(() => reno({ report: { intervalUs: 0 } })).toThrow(/interval/);
  });

  it('grows one MSS per window acked in congestion avoidance', () => {
    const dp = handle({ initCwnd: 14480 });
    const flow = new RenoFlow(dp, dp.info, { ssthresh: 14480 });
    flow.onReport(report({ acked: 14480, rtt: 10_000 }));
    expect(dp.cwnd).toBe(14480 + 1448);
  });

  it('doubles per window in slow start, then switches to linear growth at ssthresh', () => {
    const dp = handle({ initCwnd: 10 * MSS });
    const flow = new RenoFlow(dp, dp.info, { ssthresh: 15 * MSS });
    flow.onReport(report({ acked: 10 * MSS }));
    // 5 MSS fill slow start up to 15 MSS, the other 5 MSS grow linearly: + 1448·5·1448/(15·1448).
    expect(flow.cwnd).toBeCloseTo(15 * MSS + (5 * MSS) / 15);
  });

  it('halves on loss, once per loss episode', () => {
    const dp = handle({ initCwnd: 20 * MSS });
    const flow = new RenoFlow(dp, dp.info, { ssthresh: 20 * MSS });
    flow.onReport(report({ loss: 1, rtt: 20_000 }, 1_000_000));
    expect(dp.cwnd).toBe(10 * MSS);
    expect(flow.ssthresh).toBe(10 * MSS);
    // A loss reported within one RTT of the cut, or RACK's reordering window (min RTT / 4) after it, belongs to the same episode.
    flow.onReport(report({ loss: 1, rtt: 20_000 }, 1_015_000));
    flow.onReport(report({ loss: 1, rtt: 20_000 }, 1_024_000));
    expect(dp.cwnd).toBe(10 * MSS);
    // Later a loss is of a packet sent after the cut: a new episode, halved again.
    flow.onReport(report({ loss: 1, rtt: 20_000 }, 1_026_000));
    expect(flow.cwnd).toBe(5 * MSS);
  });

  it('does not grow on ACKs of the recovery period (packets sent before the cut)', () => {
    const dp = handle({ initCwnd: 20 * MSS });
    const flow = new RenoFlow(dp, dp.info, { ssthresh: 20 * MSS });
    flow.onReport(report({ loss: 1, rtt: 20_000 }, 1_000_000));
    flow.onReport(report({ acked: 10 * MSS, rtt: 20_000 }, 1_019_000));
    expect(flow.cwnd).toBe(10 * MSS);
    // Of a report spanning the end of the period, only the ACKs after it count (taken as evenly spread).
    flow.onReport(report({ acked: 10 * MSS, rtt: 20_000 }, 1_039_000));
    expect(flow.cwnd).toBeCloseTo(10 * MSS + (MSS * 10 * MSS * (19 / 20)) / (10 * MSS), 6);
  });

  it('never goes below two segments', () => {
    const dp = handle({ initCwnd: 3 * MSS });
    const flow = new RenoFlow(dp, dp.info);
    flow.onReport(report({ loss: 1 }));
    expect(dp.cwnd).toBe(2 * MSS);
  });

  it('on timeout restarts from the initial window with ssthresh at half', () => {
    const dp = handle({ initCwnd: 10 * MSS });
    const flow = new RenoFlow(dp, dp.info, { ssthresh: 40 * MSS });
    flow.cwnd = 40 * MSS;
    flow.onReport(report({ timeout: 1, acked: 5 * MSS }));
    expect(dp.cwnd).toBe(10 * MSS);
    expect(flow.ssthresh).toBe(20 * MSS);
  });

  it('slow start in the datapath: takes the datapath cwnd on the first (loss) report and switches program', () => {
    const dp = handle({ initCwnd: 10 * MSS });
    const flow = reno({ slowStart: 'datapath-window' }).newFlow(dp, dp.info);
    expect(dp.program).toBe('ss-window');
    flow.onReport(report({ loss: 1, cwnd: 64 * MSS, acked: 3 * MSS }, 0, 'ss-window'));
    expect(dp.program).toBe('rtt');
    expect(dp.cwnd).toBe(32 * MSS);
  });

  it('rate-based datapath slow start also paces at 2·cwnd/RTT afterwards', () => {
    const dp = handle({ initCwnd: 10 * MSS });
    const flow = reno({ slowStart: 'datapath-rate', report: 'ack' }).newFlow(dp, dp.info);
    expect(dp.program).toBe('ss-rate');
    flow.onReport(report({ loss: 1, cwnd: 20 * MSS, rtt: 10_000 }, 0, 'ss-rate'));
    expect(dp.program).toBe('ack');
    expect(dp.cwnd).toBe(10 * MSS);
    expect(dp.rate).toBe(Math.round((2 * 10 * MSS) / 0.01));
  });

  it('uses the datapath initial window unless told otherwise', () => {
    const dp = handle({ initCwnd: 4 * MSS });
    const f = reno().newFlow(dp, flowInfo({ initCwnd: 4 * MSS, mss: MSS }));
    expect(f.cwnd).toBe(4 * MSS);
    const g = reno({ initCwnd: 7 * MSS }).newFlow(dp, dp.info);
    expect(g.cwnd).toBe(7 * MSS);
  });
});
