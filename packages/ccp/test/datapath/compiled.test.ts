import { describe, expect, it } from 'vitest';
import { compile } from '../../src/lang/index.js';
import { harness } from './harness.js';

/** The generic congestion-avoidance program of spec §5. */
const GENERIC = `
(def (Report (volatile acked 0) (volatile sacked 0) (volatile loss 0)
  (volatile timeout false) (volatile rtt 0) (volatile inflight 0)))
(when true
  (:= Report.inflight Flow.packets_in_flight)
  (:= Report.rtt Flow.rtt_sample_us)
  (:= Report.acked (+ Report.acked Ack.bytes_acked))
  (:= Report.sacked (+ Report.sacked Ack.packets_misordered))
  (:= Report.loss Ack.lost_pkts_sample)
  (:= Report.timeout Flow.was_timeout)
  (fallthrough))
(when (|| Report.timeout (> Report.loss 0)) (report) (:= Micros 0))
(when (> Micros Flow.rtt_sample_us) (report) (:= Micros 0))
`;

describe('programs from the compiler', () => {
  it('the generic program reports once per RTT and at once on loss', () => {
    const p = compile(GENERIC);
    const names = p.reports.map((r) => r.name);
    const h = harness();
    const id = h.flowWith(p);
    const ack = { cwnd: 14_480, bytesAcked: 1448, packetsInFlight: 10, rttSampleUs: 10_000 };
    for (let i = 0; i <= 10; i++) {
      h.dp.invoke(id, ack); // one ACK per ms; the program starts at the first
      h.advance(1000);
    }
    expect(h.measures()).toHaveLength(0); // Micros = 10 ms is not yet past the 10 ms RTT
    h.dp.invoke(id, ack);
    expect(h.measures()).toHaveLength(1);
    const first = Object.fromEntries(names.map((n, i) => [n, h.measures()[0]!.fields[i]]));
    expect(first).toMatchObject({ 'Report.acked': 12 * 1448, 'Report.rtt': 10_000, 'Report.inflight': 10, 'Report.loss': 0 });
    h.advance(1000);
    h.dp.invoke(id, { ...ack, lostPktsSample: 2 });
    expect(h.measures()).toHaveLength(2);
    const second = Object.fromEntries(names.map((n, i) => [n, h.measures()[1]!.fields[i]]));
    expect(second).toMatchObject({ 'Report.acked': 1448, 'Report.loss': 2 }); // volatile: reset after the first report
  });

  it('datapath slow start: Cwnd grows by the bytes acked, reported only on loss', () => {
    const p = compile(`
      (def (Report (volatile loss 0)))
      (when true (:= Cwnd (+ Cwnd Ack.bytes_acked)) (:= Report.loss Ack.lost_pkts_sample) (fallthrough))
      (when (> Report.loss 0) (report))`);
    const h = harness();
    const id = h.flowWith(p);
    let cwnd = 14_480;
    for (let i = 0; i < 5; i++) {
      h.dp.invoke(id, { cwnd, bytesAcked: 1448 });
      cwnd = h.cwnd.at(-1)![1];
    }
    expect(cwnd).toBe(14_480 + 5 * 1448);
    expect(h.measures()).toEqual([]);
    h.dp.invoke(id, { cwnd, lostPktsSample: 1 });
    expect(h.measures()).toHaveLength(1);
  });
});
