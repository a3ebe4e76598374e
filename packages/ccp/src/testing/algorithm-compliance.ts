/**
 * The compliance suite every congestion-control algorithm passes (after
 * libp2p's interface-compliance-tests): call `describeAlgorithmCompliance`
 * from a test file with a factory for the algorithm under test.
 *
 * Flows are driven by a one-report-per-RTT model of a datapath: each round
 * acknowledges one window, reports what the installed program would report,
 * and applies the cwnd/rate the flow sets. A program that slow-starts in the
 * datapath (`ss-window`, `ss-rate`) grows the window itself and reports only
 * on loss or timeout, as the real programs do.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../lang/index.js';
import { AgentCore } from '../agent/agent.js';
import type { Algorithm, Flow } from '../agent/algorithm.js';
import type { FlowInfo } from '../agent/flow-info.js';
import { flowInfo, makeReport, recordingHandle, type RecordingHandle } from '../agent/testing.js';
import { Datapath } from '../datapath/datapath.js';
import { MAX_VALUE } from '../ipc/messages.js';
import type { GenericField } from '../algorithms/programs.js';

/**
 * How an algorithm shows it backs off: `loss` — cwnd falls on a loss report
 * and on a timeout; `delay` — cwnd falls when RTT rises well above its
 * minimum (Copa); `bandwidth` — the pacing rate follows a delivery rate that
 * dropped (BBR's 10-round bandwidth filter).
 */
export type CongestionSignal = 'loss' | 'delay' | 'bandwidth';

export interface ComplianceSubject {
  /** Test title, e.g. `reno (report rtt, slow start agent)`. */
  readonly title: string;
  /** A fresh algorithm per test. */
  readonly algorithm: () => Algorithm;
  readonly signal: CongestionSignal;
}

const MSS = 1448;
const INIT_CWND = 10 * MSS;
const BASE_RTT = 10_000;
/** No window may go below this (BBR's floor is higher, 4 segments). */
const MIN_CWND = 2 * MSS;

type Fields = Record<GenericField, number>;

/** One flow of `algorithm` on the datapath model. */
class ModelFlow {
  readonly info: FlowInfo = flowInfo({ mss: MSS, initCwnd: INIT_CWND });
  readonly handle: RecordingHandle;
  readonly flow: Flow;
  cwnd = INIT_CWND;
  rate = 0;
  time = 0;
  private applied = 0;

  constructor(readonly algorithm: Algorithm) {
    this.handle = recordingHandle(algorithm.programs, this.info);
    this.flow = algorithm.newFlow(this.handle, this.info);
    this.apply();
  }

  /** One RTT: a window acked (unless `acked` says otherwise) with the given signals; returns whether a report was sent. */
  round(signals: Partial<Fields> = {}, rtt = BASE_RTT): boolean {
    this.time += rtt;
    const acked = signals.acked ?? this.cwnd;
    const inDatapathSlowStart = this.handle.program === 'ss-window' || this.handle.program === 'ss-rate';
    if (inDatapathSlowStart) this.cwnd += acked;
    const fields: Fields = {
      acked,
      sacked: 0,
      loss: 0,
      timeout: 0,
      rtt,
      minrtt: rtt,
      inflight: Math.floor(this.cwnd / MSS),
      ecn: 0,
      rate: Math.floor((acked * 1e6) / rtt),
      cwnd: this.cwnd,
      now: this.time,
      ...signals,
    };
    if (inDatapathSlowStart && fields.loss === 0 && fields.timeout === 0) return false;
    this.report(fields);
    return true;
  }

  /** Delivers one report of the flow's current program as it is. */
  report(fields: Fields): void {
    this.flow.onReport(makeReport(this.handle.program ?? '', fields, { flow: this.info, time: this.time }));
    this.apply();
  }

  /** Takes every update the flow made since the last call, checking each. */
  private apply(): void {
    for (; this.applied < this.handle.updates.length; this.applied++) {
      const u = this.handle.updates[this.applied]!;
      if (u.cwnd !== undefined) {
        expectWindow(u.cwnd);
        this.cwnd = u.cwnd;
      }
      if (u.rate !== undefined) {
        expectValue(u.rate, 'rate');
        this.rate = u.rate;
      }
    }
  }
}

function expectValue(v: number, what: string): void {
  expect(Number.isInteger(v), `${what} ${v} is an integer`).toBe(true);
  expect(v, what).toBeGreaterThanOrEqual(0);
  expect(v, what).toBeLessThanOrEqual(MAX_VALUE);
}

function expectWindow(cwnd: number): void {
  expectValue(cwnd, 'cwnd');
  expect(cwnd, 'cwnd floor').toBeGreaterThanOrEqual(MIN_CWND);
}

/** Grows the flow on a clean path for `rounds` RTTs. */
function grow(f: ModelFlow, rounds = 20): void {
  for (let i = 0; i < rounds; i++) f.round();
}

const allFields = (v: number): Fields => ({ acked: v, sacked: v, loss: v, timeout: v, rtt: v, minrtt: v, inflight: v, ecn: v, rate: v, cwnd: v, now: v });

export function describeAlgorithmCompliance(subject: ComplianceSubject): void {
  describe(`${subject.title} complies`, () => {
    it('selects a program on newFlow that compiles, with controls the program declares', () => {
      const f = new ModelFlow(subject.algorithm());
      expect(f.handle.programs.length).toBeGreaterThan(0);
      for (const { name, controls } of f.handle.programs) {
        const compiled = compile(f.algorithm.programs[name] ?? '');
        expect(compiled.reports.length, `program '${name}' reports something`).toBeGreaterThan(0);
        const declared = compiled.controls.map((c) => c.name);
        for (const c of Object.keys(controls ?? {})) expect(declared).toContain(c);
      }
    });

    it('grows when reports show acks and no loss', () => {
      const f = new ModelFlow(subject.algorithm());
      const before = { cwnd: f.cwnd, rate: f.rate };
      grow(f);
      expect(f.cwnd > before.cwnd || f.rate > before.rate, `cwnd ${before.cwnd} → ${f.cwnd}, rate ${before.rate} → ${f.rate}`).toBe(true);
    });

    if (subject.signal === 'loss') {
      it('reduces cwnd on a loss report', () => {
        const f = new ModelFlow(subject.algorithm());
        grow(f);
        const before = f.cwnd;
        // Three duplicate ACKs: nothing new acked in order, three packets SACKed, one lost.
        expect(f.round({ acked: 0, sacked: 3, loss: 1 })).toBe(true);
        expect(f.cwnd).toBeLessThan(before);
      });

      it('reduces again on a loss in each of consecutive RTTs (each a new loss episode once a window is acked)', () => {
        const f = new ModelFlow(subject.algorithm());
        grow(f);
        f.round({ loss: 1 });
        const afterFirst = f.cwnd;
        // Every round acks a whole window and loses one packet: the datapath reports them together.
        for (let i = 0; i < 3; i++) f.round({ loss: 1 });
        expect(f.cwnd).toBeLessThan(afterFirst);
      });

      it('reduces cwnd on a timeout report', () => {
        const f = new ModelFlow(subject.algorithm());
        grow(f);
        const before = f.cwnd;
        expect(f.round({ acked: 0, timeout: 1 })).toBe(true);
        expect(f.cwnd).toBeLessThan(before);
      });
    }

    if (subject.signal === 'delay') {
      it('reduces cwnd when the RTT rises well above its minimum', () => {
        const f = new ModelFlow(subject.algorithm());
        grow(f);
        const before = f.cwnd;
        for (let i = 0; i < 5; i++) f.round({}, 5 * BASE_RTT);
        expect(f.cwnd).toBeLessThan(before);
      });
    }

    if (subject.signal === 'bandwidth') {
      it('paces down and bounds cwnd when the delivery rate drops', () => {
        const f = new ModelFlow(subject.algorithm());
        grow(f);
        const before = f.rate;
        const bottleneck = Math.floor(before / 4);
        for (let i = 0; i < 15; i++) f.round({ rate: bottleneck, acked: Math.floor((bottleneck * BASE_RTT) / 1e6) });
        expect(f.rate).toBeLessThan(before);
        // At most the largest cwnd gain (startup's 2/ln 2) times the bottleneck's BDP.
        expect(f.cwnd).toBeLessThanOrEqual(Math.max((3 * bottleneck * BASE_RTT) / 1e6, 4 * MSS));
      });
    }

    it('keeps cwnd a whole number within bounds on every update, whatever the reports say', () => {
      const f = new ModelFlow(subject.algorithm());
      grow(f, 5);
      // Every field zero, at u32 max (rtt: "no sample"), and saturated at 2^53 − 1; then alternating loss and growth.
      for (const v of [0, 0xffff_ffff, MAX_VALUE, 0]) {
        expect(() => f.report(allFields(v))).not.toThrow();
        expect(() => f.report({ ...allFields(0), acked: v, rtt: v, minrtt: v, rate: v, cwnd: v })).not.toThrow();
      }
      for (let i = 0; i < 50; i++) f.round(i % 7 === 3 ? { loss: 1 } : {});
      expect(f.handle.updates.length).toBeGreaterThan(0);
    });

    it('close() works after reports, and before any', () => {
      const f = new ModelFlow(subject.algorithm());
      grow(f, 3);
      expect(() => f.flow.close?.()).not.toThrow();
      expect(() => new ModelFlow(subject.algorithm()).flow.close?.()).not.toThrow();
    });

    it('runs on the datapath runtime: programs install, reports reach the flow, updates are accepted, close ends it', () => {
      const algorithm = subject.algorithm();
      let now = 0;
      let cwnd = INIT_CWND;
      const core = new AgentCore({ algorithms: [algorithm], clock: () => now, log: () => {} });
      const toAgent: Uint8Array[] = [];
      const errors: unknown[] = [];
      const dp = new Datapath({
        now: () => now,
        setCwnd: (_sid, bytes) => (cwnd = bytes),
        setRate: () => {},
        send: (bytes) => void toAgent.push(bytes),
        onError: (err) => errors.push(err),
      });
      const pump = (): void => {
        for (let d = toAgent.shift(); d !== undefined; d = toAgent.shift()) core.handleDatagram('dp', d, (reply) => dp.receive(reply));
      };
      pump();
      const sid = dp.createFlow({ initCwnd: INIT_CWND, mss: MSS, srcIp: 1, srcPort: 2, dstIp: 3, dstPort: 4, algorithm: algorithm.name });
      pump();
      // 20 RTTs of up to 20 ACKs, plus a loss in the middle (so datapath slow start reports too).
      for (let i = 0; i < 20; i++) {
        const acks = Math.min(20, Math.max(1, Math.floor(cwnd / MSS)));
        for (let a = 0; a < acks; a++) {
          now += Math.floor(BASE_RTT / acks);
          const lost = i === 10 && a === 0 ? 1 : 0;
          dp.invoke(sid, { cwnd, bytesAcked: MSS, packetsAcked: 1, rttSampleUs: BASE_RTT, packetsInFlight: acks, rateIncoming: 1e6, rateOutgoing: 1e6, lostPktsSample: lost });
          pump();
        }
      }
      expect(errors).toEqual([]);
      expect(dp.stats.rejected).toBe(0);
      expect(core.stats.reports).toBeGreaterThan(0);
      expectWindow(cwnd);
      dp.closeFlow(sid);
      pump();
      expect(core.stats.flowsClosed).toBe(1);
      expect(core.flowCount).toBe(0);
      expect(core.stats.algorithmErrors + core.stats.malformedReports + core.stats.unknownProgram + core.stats.staleReports).toBe(0);
    });
  });
}
