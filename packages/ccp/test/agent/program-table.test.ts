import { describe, expect, it } from 'vitest';
import { AgentCore, type LogLevel } from '../../src/agent/agent.js';
import type { Algorithm } from '../../src/agent/algorithm.js';
import { compilePrograms } from '../../src/agent/programs.js';
import { builtinAlgorithms } from '../../src/algorithms/index.js';
import { Datapath } from '../../src/datapath/datapath.js';
import type { CcpError } from '../../src/errors.js';
import { FakeDatapath } from './fake-datapath.js';

/** A 10-slot datapath runtime wired synchronously to an agent with every built-in algorithm. */
function rig(slots = 10, algorithms: readonly Algorithm[] = builtinAlgorithms()) {
  let now = 0;
  const errors: CcpError[] = [];
  const cwnds = new Map<number, number>();
  const agent = new AgentCore({ algorithms, clock: () => now, log: () => {}, datapathProgramSlots: slots });
  // READY goes out from the constructor: replies wait until the datapath exists.
  const wired: { dp?: Datapath } = {};
  const toDatapath: Uint8Array[] = [];
  const dp = new Datapath(
    {
      now: () => now,
      setCwnd: (sid, bytes) => cwnds.set(sid, bytes),
      setRate: () => {},
      send: (bytes) => agent.handleDatagram('dp', bytes, (reply) => (wired.dp === undefined ? toDatapath.push(reply) : wired.dp.receive(reply))),
      onError: (err) => errors.push(err),
    },
    { maxPrograms: slots },
  );
  wired.dp = dp;
  for (const reply of toDatapath.splice(0)) dp.receive(reply);
  const create = (algorithm: string, port: number): number =>
    dp.createFlow({ initCwnd: 10 * 1448, mss: 1448, srcIp: 0x7f000001, srcPort: port, dstIp: 0x7f000001, dstPort: 5000, algorithm });
  /** One ACK per flow every ms for `ms`. */
  const run = (sids: number[], ms: number): void => {
    for (let i = 0; i < ms; i++) {
      now += 1000;
      for (const sid of sids) {
        dp.invoke(sid, { cwnd: cwnds.get(sid) ?? 14_480, bytesAcked: 1448, packetsAcked: 1, rttSampleUs: 20_000, bytesInFlight: 14_480, packetsInFlight: 10, rateIncoming: 1e6, rateOutgoing: 1e6 });
      }
    }
  };
  return { agent, dp, errors, create, run };
}

const names = builtinAlgorithms().map((a) => a.name);

describe('agent and datapath with a 10-slot program table (libccp\'s)', () => {
  it('starts every built-in algorithm in turn: each flow runs a program and its reports reach the agent', () => {
    const { agent, dp, errors, create, run } = rig();
    for (const [i, name] of names.entries()) {
      const reportsBefore = agent.stats.reports;
      const sid = create(name, 40_000 + i);
      run([sid], 200);
      expect(errors, name).toEqual([]);
      expect(agent.stats.reports, name).toBeGreaterThan(reportsBefore);
      expect(dp.inFallback(sid), name).toBe(false);
      dp.closeFlow(sid);
    }
    expect(dp.programs.length).toBeLessThanOrEqual(10);
    expect(agent.stats.programTableFull).toBe(0);
  });

  it('starts every built-in algorithm concurrently', () => {
    const { agent, dp, errors, create, run } = rig();
    const sids = names.map((name, i) => create(name, 41_000 + i));
    run(sids, 200);
    expect(errors).toEqual([]);
    expect(agent.flowCount).toBe(names.length);
    for (const sid of sids) expect(dp.inFallback(sid)).toBe(false);
    expect(agent.stats.reports).toBeGreaterThanOrEqual(names.length);
    expect(dp.programs.length).toBeLessThanOrEqual(10);
  });

  it('compiles a program once per process: agents share its compilation and report layout, and a bad program still fails', () => {
    const first = compilePrograms(builtinAlgorithms()).byAlgorithm.get('reno')!;
    const second = compilePrograms(builtinAlgorithms()).byAlgorithm.get('reno')!;
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [name, p] of first) {
      expect(second.get(name)!.compiled).toBe(p.compiled);
      expect(second.get(name)!.layout).toBe(p.layout);
    }
    const bad: Algorithm = { name: 'bad', programs: { main: '(def (Report (volatile x 0))) (when true (:= Report.nope 1))' }, newFlow: () => ({ onReport: () => {} }) };
    expect(() => compilePrograms([bad])).toThrow(/program 'main' of algorithm 'bad' does not compile/);
    expect(() => compilePrograms([bad])).toThrow(/does not compile/);
  });

  it('refuses a flow whose programs would not fit, and the datapath keeps it on its own control', () => {
    const own: Algorithm = {
      name: 'own',
      programs: { main: '(def (Report (volatile acked 0))) (when true (:= Report.acked (+ Report.acked Ack.bytes_acked)) (report))' },
      newFlow: (h) => {
        h.setProgram('main');
        return { onReport: () => {} };
      },
    };
    const builtins = builtinAlgorithms();
    // Exactly the built-ins' distinct programs fit; 'own' needs one more.
    const { agent, dp, errors, create, run } = rig(new Set(builtins.flatMap((a) => Object.values<string>(a.programs))).size, [...builtins, own]);
    const reno = create('reno', 42_000);
    const mine = create('own', 42_001);
    run([reno, mine], 1500);
    expect(errors).toEqual([]);
    expect(agent.stats.programTableFull).toBeGreaterThan(0);
    expect(dp.inFallback(reno)).toBe(false);
    expect(dp.inFallback(mine)).toBe(true);
  });
});

describe('agent bounds', () => {
  it('logs bad datagrams at a limited rate, with a summary of those held back', () => {
    let now = 0;
    const lines: string[] = [];
    const agent = new AgentCore({ algorithms: builtinAlgorithms(), clock: () => now, log: (level: LogLevel, m: string) => level === 'warn' && lines.push(m), logIntervalUs: 10_000_000 });
    const dp = new FakeDatapath(agent);
    for (let i = 0; i < 20_000; i++) {
      now += 1000; // 20 s at 1,000 datagrams/s
      dp.raw(new Uint8Array([0xff, i & 0xff, 3]));
    }
    expect(agent.stats.decodeErrors).toBe(20_000);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(lines.at(-1)).toMatch(/and \d+ more like it/);
  });

  it('refuses CREATEs past maxFlowsPerDatapath and counts them', () => {
    const agent = new AgentCore({ algorithms: builtinAlgorithms(), log: () => {}, maxFlowsPerDatapath: 100 });
    const dp = new FakeDatapath(agent);
    for (let sid = 1; sid <= 20_000; sid++) dp.create(sid);
    expect(agent.flowCount).toBe(100);
    expect(agent.stats.flowsRefused).toBe(19_900);
    // Another datapath has its own budget.
    new FakeDatapath(agent, 'dp2').create(1);
    expect(agent.flowCount).toBe(101);
  });
});
