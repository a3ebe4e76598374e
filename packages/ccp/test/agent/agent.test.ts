import { describe, expect, it } from 'vitest';
import type { Algorithm } from '../../src/agent/algorithm.js';
import type { FlowInfo } from '../../src/agent/flow-info.js';
import { fairShare } from '../../src/agent/aggregate.js';
import type { Report } from '../../src/agent/report.js';
import { reno } from '../../src/algorithms/reno.js';
import { GENERIC_PROGRAMS } from '../../src/algorithms/programs.js';
import { Implicit, RegType } from '../../src/program.js';
import { core, FakeDatapath } from './fake-datapath.js';

const MSS = 1448;
/** Generic-program fields in register order: acked sacked loss timeout rtt minrtt inflight ecn rate cwnd. */
const fields = (acked: number, loss = 0): number[] => [acked, 0, loss, 0, 10_000, 10_000, 10, 0, 0, 14480, 0];

/** An algorithm that records what it sees. */
function recorder(name = 'rec') {
  const seen: { flows: FlowInfo[]; reports: Report[]; closed: number[] } = { flows: [], reports: [], closed: [] };
  const alg: Algorithm = {
    name,
    programs: { main: '(def (Report (volatile acked 0)) (gain 1)) (when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))', other: GENERIC_PROGRAMS.ack },
    newFlow(dp, info) {
      seen.flows.push(info);
      dp.setProgram('main', { gain: 5 });
      return {
        onReport: (r) => seen.reports.push(r),
        close: () => seen.closed.push(info.sid),
      };
    },
  };
  return { alg, seen };
}

describe('agent', () => {
  it('installs on a flow\'s CREATE only the programs its algorithm uses, each distinct program once per datapath, before selecting one', () => {
    const agent = core({ algorithms: [reno(), recorder().alg] });
    const dp = new FakeDatapath(agent);
    dp.ready();
    expect(dp.sent).toHaveLength(0);
    dp.create(1, 'reno');
    const renoUids = agent.programs.uidsOf.get('reno')!;
    expect(dp.sent.map((m) => m.type)).toEqual([...renoUids.map(() => 'install'), 'changeProg']);
    expect(dp.take('install').map((m) => m.programUid)).toEqual(renoUids);
    dp.create(2, 'reno');
    expect(dp.take('install')).toEqual([]);
    dp.create(3, 'rec');
    // Only what reno's programs did not already bring.
    expect(dp.take('install').map((m) => m.programUid)).toEqual(agent.programs.uidsOf.get('rec')!.filter((uid) => !renoUids.includes(uid)));
    // A restarted datapath has an empty table again.
    dp.ready();
    dp.create(4, 'reno');
    expect(dp.take('install').map((m) => m.programUid)).toEqual(renoUids);
    expect(agent.stats.programsInstalled).toBe(2 * renoUids.length + 1);
  });

  it('creates a flow with the named algorithm, selects its program with initial controls, and routes reports', () => {
    const { alg, seen } = recorder();
    const agent = core({ algorithms: [reno(), alg] });
    const dp = new FakeDatapath(agent);
    dp.ready();
    dp.take('install');
    dp.create(1, 'rec');
    const [change] = dp.take('changeProg');
    const uid = agent.programs.byAlgorithm.get('rec')!.get('main')!.uid;
    expect(change).toEqual({ type: 'changeProg', socketId: 1, programUid: uid, updates: [{ regType: RegType.ControlNonVolatile, regIndex: 0, value: 5 }] });
    expect(seen.flows[0]).toMatchObject({ sid: 1, mss: MSS, algorithm: 'rec', datapath: 'dp1', dst: { ip: 0x0a000001, port: 5000 } });
    dp.measure(1, uid, [777]);
    expect(seen.reports).toHaveLength(1);
    expect(seen.reports[0]!.get('acked')).toBe(777);
    expect(seen.reports[0]!.program).toBe('main');
    expect(seen.reports[0]!.flow.sid).toBe(1);
  });

  it('runs Reno end to end over messages: grows in CA, halves on loss', () => {
    const agent = core({ algorithms: [reno({ ssthresh: 10 * MSS })] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'reno');
    const uid = dp.take('changeProg')[0]!.programUid;
    dp.measure(1, uid, fields(10 * MSS));
    expect(dp.take('updateFields')[0]!.updates).toEqual([{ regType: RegType.Implicit, regIndex: Implicit.Cwnd, value: 11 * MSS }]);
    dp.measure(1, uid, fields(0, 1));
    expect(dp.take('updateFields')[0]!.updates[0]!.value).toBe(Math.round((11 * MSS) / 2));
  });

  it('uses the default algorithm for an unknown or empty name', () => {
    const { alg, seen } = recorder();
    const agent = core({ algorithms: [reno(), alg], default: 'rec' });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'no-such-alg');
    dp.create(2, '');
    expect(seen.flows.map((f) => f.sid)).toEqual([1, 2]);
    expect(() => core({ algorithms: [reno()], default: 'cubic' })).toThrow(/not among/);
  });

  it('drops stale reports (from a program the flow has replaced) without reading them', () => {
    const agent = core({ algorithms: [reno({ slowStart: 'datapath-window' })] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'reno');
    const ss = dp.take('changeProg')[0]!.programUid;
    dp.measure(1, ss, fields(0, 1)); // loss ends datapath slow start: the agent switches to the per-RTT program
    const [next] = dp.take('changeProg');
    expect(next!.programUid).not.toBe(ss);
    dp.take('updateFields');
    dp.measure(1, ss, fields(5 * MSS, 1)); // still in flight from the old program
    expect(agent.stats.staleReports).toBe(1);
    expect(dp.take('updateFields')).toHaveLength(0);
    dp.measure(1, next!.programUid, fields(MSS));
    expect(agent.stats.reports).toBe(2);
  });

  it('closes a flow on MEASURE with uid 0 and n 0, then ignores its reports', () => {
    const { alg, seen } = recorder();
    const agent = core({ algorithms: [alg] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'rec');
    dp.close(1);
    expect(seen.closed).toEqual([1]);
    expect(agent.flowCount).toBe(0);
    dp.measure(1, 1, [1]);
    expect(agent.stats.unknownFlow).toBe(1);
    expect(seen.reports).toHaveLength(0);
  });

  it('survives garbage: undecodable bytes, wrong field counts, unknown uids and agent-bound messages are counted', () => {
    const { alg, seen } = recorder();
    const agent = core({ algorithms: [alg] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'rec');
    dp.raw(new Uint8Array([1, 2, 3]));
    dp.raw(new Uint8Array([9, 0, 8, 0, 0, 0, 0, 0]));
    dp.raw(new Uint8Array(0));
    dp.measure(1, 1, [1, 2]);
    dp.measure(1, 99, [1]);
    dp.deliver({ type: 'updateFields', socketId: 1, updates: [] });
    expect(agent.stats).toMatchObject({ decodeErrors: 3, malformedReports: 1, unknownProgram: 1, unexpectedMessages: 1 });
    dp.measure(1, 1, [5]);
    expect(seen.reports.map((r) => r.get('acked'))).toEqual([5]);
  });

  it('contains algorithm exceptions', () => {
    const bad: Algorithm = {
      name: 'bad',
      programs: { p: '(def (Report (x 0))) (when true (report))' },
      newFlow: (dp, info) => {
        if (info.sid === 2) throw new Error('cannot create');
        dp.setProgram('p');
        return {
          onReport: () => {
            dp.setProgram('nope');
          },
        };
      },
    };
    const agent = core({ algorithms: [bad] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'bad');
    dp.create(2, 'bad');
    dp.measure(1, 1, [0]);
    expect(agent.stats.algorithmErrors).toBe(2);
    expect(agent.flowCount).toBe(1);
  });

  it('checks control updates against the current program', () => {
    let handle: Parameters<Algorithm['newFlow']>[0] | undefined;
    const alg: Algorithm = {
      ...recorder().alg,
      newFlow: (dp) => {
        handle = dp;
        return { onReport: () => {} };
      },
    };
    const dp = new FakeDatapath(core({ algorithms: [alg] }));
    dp.create(1, 'rec');
    expect(() => handle!.updateField({ controls: { gain: 2 } })).toThrow(/setProgram/);
    handle!.setProgram('main');
    expect(() => handle!.updateField({ controls: { gian: 2 } })).toThrow(/no control variable 'gian'.*gain/);
    expect(() => handle!.updateField({ cwnd: -1 })).toThrow(expect.objectContaining({ code: 'ERR_CCP_INVALID_UPDATE' }));
    expect(() => handle!.setProgram('missing')).toThrow(expect.objectContaining({ code: 'ERR_CCP_UNKNOWN_PROGRAM' }));
    dp.take('changeProg');
    handle!.updateField({ cwnd: 5000.4, controls: { gain: 3 } });
    expect(dp.take('updateFields')[0]!.updates).toEqual([
      { regType: RegType.Implicit, regIndex: Implicit.Cwnd, value: 5000 },
      { regType: RegType.ControlNonVolatile, regIndex: 0, value: 3 },
    ]);
  });

  it('keeps datapaths apart, and READY forgets only that datapath’s flows', () => {
    const { alg, seen } = recorder();
    const agent = core({ algorithms: [alg] });
    const a = new FakeDatapath(agent, 'a');
    const b = new FakeDatapath(agent, 'b');
    a.create(1, 'rec');
    b.create(1, 'rec');
    a.measure(1, 1, [10]);
    b.measure(1, 1, [20]);
    expect(seen.reports.map((r) => [r.flow.datapath, r.get('acked')])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    a.ready();
    expect(seen.closed).toEqual([1]);
    expect(agent.flowCount).toBe(1);
    a.measure(1, 1, [1]);
    expect(agent.stats.unknownFlow).toBe(1);
    expect(b.take('changeProg')).toHaveLength(1);
  });

  it('re-creates a flow on a repeated CREATE', () => {
    const { alg, seen } = recorder();
    const dp = new FakeDatapath(core({ algorithms: [alg] }));
    dp.create(1, 'rec');
    dp.create(1, 'rec');
    expect(seen.flows).toHaveLength(2);
    expect(seen.closed).toEqual([1]);
  });

  it('rejects programs that do not compile, naming the algorithm and program', () => {
    const broken: Algorithm = { name: 'broken', programs: { p: '(def (Report (x 0))) (when true (:= Report.x nosuch))' }, newFlow: () => ({ onReport() {} }) };
    expect(() => core({ algorithms: [broken] })).toThrow(/program 'p' of algorithm 'broken'/);
  });
});

describe('fair-share aggregation', () => {
  const aggregateReno = fairShare(reno({ ssthresh: 20 * MSS, initCwnd: 20 * MSS }));

  it('shares one Reno window equally among the flows to one host', () => {
    const agent = core({ algorithms: [aggregateReno] });
    const dp = new FakeDatapath(agent);
    dp.create(1, 'aggregate-reno');
    const uid = dp.take('changeProg')[0]!.programUid;
    dp.create(2, 'aggregate-reno');
    // The new member gets the aggregate's program; both get half the window.
    const msgs = dp.sent.splice(0);
    expect(msgs.filter((m) => m.type === 'changeProg').map((m) => m.socketId)).toEqual([2]);
    dp.create(3, 'aggregate-reno', { dstIp: 0x0a000002 }); // another host: its own aggregate
    dp.take('changeProg');
    // A loss reported by either member halves the aggregate: each of 2 members gets 5 MSS.
    dp.measure(2, uid, fields(0, 1));
    const updates = dp.take('updateFields');
    expect(updates.map((u) => [u.socketId, u.updates[0]!.value])).toEqual([
      [1, 5 * MSS],
      [2, 5 * MSS],
    ]);
    // One member leaves: the other gets the whole window.
    dp.close(1);
    expect(dp.take('updateFields').map((u) => [u.socketId, u.updates[0]!.value])).toEqual([[2, 10 * MSS]]);
    expect(agent.flowCount).toBe(2);
  });
});
