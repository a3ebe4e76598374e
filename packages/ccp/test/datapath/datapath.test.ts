import { describe, expect, it } from 'vitest';
import { ArithmeticFaultError, UnknownFlowError, UnknownProgramError } from '../../src/datapath/errors.js';
import { InvalidUpdateError } from '../../src/errors.js';
import { CREATE_RETRY_US } from '../../src/datapath/datapath.js';
import { Opcode, RegType } from '../../src/program.js';
import { MAX_VALUE } from '../../src/ipc/messages.js';
import { always, bind, control, cwnd, def, doReport, fallthrough, flag, imm, local, micros, op, prim, program, report, tmp, vcontrol, vreport } from './asm.js';
import { flowInfo, harness } from './harness.js';

const ACKED = prim(0);
const NOW = prim(5);
const RTT = prim(13);
const TIMEOUT = prim(14);
const add = (res: ReturnType<typeof report>, l: ReturnType<typeof report>, r: ReturnType<typeof report>) => op(Opcode.Add, res, l, r);

/** Reports every ACK: Report.acked (volatile) accumulates, Report.total (non-volatile) too. */
const counting = program(
  [def(vreport(0), 0), def(report(1), 0)],
  [[always, [add(vreport(0), vreport(0), ACKED), add(report(1), report(1), ACKED), doReport]]],
);

describe('lifecycle', () => {
  it('sends READY at start and CREATE per flow, re-sent at most every 100 ms until the agent answers', () => {
    const h = harness({ datapathId: 9 });
    expect(h.take()).toEqual([{ type: 'ready', datapathId: 9 }]);
    const id = h.dp.createFlow(flowInfo);
    expect(id).toBeGreaterThanOrEqual(1);
    expect(h.take()).toEqual([{ type: 'create', socketId: id, ...flowInfo }]);
    h.advance(CREATE_RETRY_US - 1);
    h.dp.invoke(id, { cwnd: 1000 });
    expect(h.take()).toEqual([]);
    h.advance(1);
    h.dp.invoke(id, { cwnd: 1000 });
    h.dp.invoke(id, { cwnd: 1000 });
    expect(h.take().map((m) => m.type)).toEqual(['create']);
    h.fromAgent({ type: 'updateFields', socketId: id, updates: [] }); // any message for the flow answers it
    h.advance(CREATE_RETRY_US);
    h.dp.invoke(id, { cwnd: 1000 });
    expect(h.take()).toEqual([]);
    expect(h.dp.stats.createsSent).toBe(2);
  });

  it('runs no program before CHANGE_PROG, and a staged change only at the next ACK', () => {
    const h = harness();
    h.install(1, counting);
    const id = h.dp.createFlow(flowInfo);
    h.dp.invoke(id, { cwnd: 1000, bytesAcked: 10 });
    h.changeProg(id, 1);
    expect(h.measures()).toEqual([]);
    h.dp.invoke(id, { cwnd: 1000, bytesAcked: 10 });
    expect(h.measures()).toEqual([{ type: 'measure', socketId: id, programUid: 1, fields: [10, 10] }]);
  });

  it('closeFlow tells the agent; the flow is then unknown', () => {
    const h = harness();
    const id = h.flowWith(counting);
    h.take();
    h.dp.closeFlow(id);
    expect(h.take()).toEqual([{ type: 'close', socketId: id }]);
    expect(() => h.dp.invoke(id, { cwnd: 1 })).toThrow(UnknownFlowError);
    expect(h.dp.flowCount).toBe(0);
  });
});

describe('per-ACK semantics (spec §4)', () => {
  it('reports all Report registers, then resets only the volatile ones', () => {
    const h = harness();
    const id = h.flowWith(counting);
    h.dp.invoke(id, { cwnd: 1000, bytesAcked: 5 });
    h.dp.invoke(id, { cwnd: 1000, bytesAcked: 7 });
    expect(h.measures().map((m) => m.fields)).toEqual([
      [5, 5],
      [7, 12],
    ]);
    expect(h.dp.stats.reportsSent).toBe(2);
  });

  it('resets volatile control registers after a report, keeps non-volatile ones', () => {
    const h = harness();
    const p = program(
      [def(report(0), 0), def(vcontrol(0), 3), def(control(1), 4)],
      [[always, [bind(report(0), vcontrol(0)), add(report(0), report(0), control(1)), bind(vcontrol(0), imm(100)), bind(control(1), imm(200)), doReport]]],
    );
    const id = h.flowWith(p);
    h.dp.invoke(id, { cwnd: 1 });
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.measures().map((m) => m.fields[0])).toEqual([3 + 4, 3 + 200]);
  });

  it('stops after the first true event unless fallthrough was set, which stays set for the invocation', () => {
    const h = harness();
    const mark = (i: number) => bind(report(i), imm(1));
    const clear = [bind(report(0), imm(0)), bind(report(1), imm(0)), bind(report(2), imm(0))];
    const never = [bind(flag, imm(0))];
    const defs = [def(report(0), 0), def(report(1), 0), def(report(2), 0)];
    // Event 0 falls through; event 1 does not, but the flag is sticky, so event 2 runs too.
    const sticky = program(defs, [
      [always, [...clear, fallthrough, doReport]],
      [never, [mark(0)]],
      [always, [mark(1)]],
      [always, [mark(2)]],
    ]);
    // No fallthrough: only event 0 (a false condition does not stop evaluation).
    const plain = program(defs, [
      [never, [mark(0)]],
      [always, [...clear, mark(1), doReport]],
      [always, [mark(2)]],
    ]);
    const a = h.flowWith(sticky, 1);
    const b = h.flowWith(plain, 2);
    h.dp.invoke(a, { cwnd: 1 });
    h.dp.invoke(b, { cwnd: 1 });
    expect(h.measures().map((m) => [m.socketId, m.fields])).toEqual([
      [a, [0, 1, 1]],
      [b, [0, 1, 0]],
    ]);
  });

  it('pushes Cwnd when > 0 and Rate when non-zero, after loading them from the flow', () => {
    const h = harness();
    // Slow start in the datapath: Cwnd += bytes acked.
    const id = h.flowWith(program([], [[always, [add(cwnd, cwnd, ACKED)]]]));
    h.dp.invoke(id, { cwnd: 1000, rate: 0, bytesAcked: 100 });
    h.dp.invoke(id, { cwnd: 5000, rate: 0, bytesAcked: 100 });
    expect(h.cwnd).toEqual([
      [id, 1100],
      [id, 5100],
    ]);
    expect(h.rate).toEqual([]);
    h.dp.invoke(id, { cwnd: 0, rate: 77 });
    expect(h.cwnd).toHaveLength(2);
    expect(h.rate).toEqual([[id, 77]]);
  });

  it('applies staged updates at the next ACK, pushing non-zero cwnd/rate at once', () => {
    const h = harness();
    const id = h.flowWith(program([def(report(0), 0), def(control(0), 1)], [[always, [bind(report(0), control(0)), doReport]]]));
    h.fromAgent({
      type: 'updateFields',
      socketId: id,
      updates: [
        { regType: RegType.Implicit, regIndex: 4, value: 42_000 },
        { regType: RegType.Implicit, regIndex: 5, value: 0 },
        { regType: RegType.ControlNonVolatile, regIndex: 0, value: 9 },
      ],
    });
    expect(h.cwnd).toEqual([]);
    h.dp.invoke(id, { cwnd: 1000, rate: 5 });
    // Once from the update itself, once from step 5 (the program left Cwnd as updated).
    expect(h.cwnd).toEqual([
      [id, 42_000],
      [id, 42_000],
    ]);
    expect(h.rate).toEqual([]); // rate updated to 0: not pushed
    expect(h.measures()[0]!.fields).toEqual([9]);
  });

  it('a program change resets Report/control registers to their DEF values, clears locals, and restarts Micros', () => {
    const h = harness();
    const p = program(
      [def(report(0), 0), def(report(1), 0), def(report(2), 0), def(control(0), 5)],
      [[always, [add(local(0), local(0), imm(1)), bind(report(0), local(0)), bind(report(1), control(0)), bind(report(2), micros), bind(control(0), imm(50)), doReport]]],
    );
    const id = h.flowWith(p);
    h.advance(300);
    h.dp.invoke(id, { cwnd: 1 });
    h.advance(300);
    h.dp.invoke(id, { cwnd: 1 });
    h.changeProg(id, 1, [{ regType: RegType.ControlNonVolatile, regIndex: 1, value: 8 }]);
    h.advance(300);
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.measures().map((m) => m.fields)).toEqual([
      [1, 5, 0], // the change applies at the first ACK: Micros starts there
      [2, 50, 300],
      [1, 5, 0], // reset: local 1 again, control back to 5, Micros from the change
    ]);
  });

  it('CHANGE_PROG updates initialise the new program controls after the DEF reset', () => {
    const h = harness();
    const p = program([def(report(0), 0), def(control(0), 5)], [[always, [bind(report(0), control(0)), doReport]]]);
    h.install(1, p);
    const id = h.dp.createFlow(flowInfo);
    h.changeProg(id, 1, [{ regType: RegType.ControlNonVolatile, regIndex: 0, value: 77 }]);
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.measures()[0]!.fields).toEqual([77]);
  });

  it('Micros counts µs since time zero, and assigning it moves time zero', () => {
    const h = harness();
    // Report Micros each ACK; once it passes 1000, set it to 500.
    const gt = op(Opcode.Gt, flag, micros, imm(1000));
    const id = h.flowWith(
      program([def(report(0), 0)], [
        [always, [bind(report(0), micros), doReport, fallthrough]],
        [[gt], [bind(micros, imm(500))]],
      ]),
    );
    h.dp.invoke(id, { cwnd: 1 }); // the program starts: Micros 0
    h.advance(600);
    h.dp.invoke(id, { cwnd: 1 });
    h.advance(600);
    h.dp.invoke(id, { cwnd: 1 }); // 1200 > 1000: Micros := 500
    h.advance(100);
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.measures().map((m) => m.fields[0])).toEqual([0, 600, 1200, 600]);
  });

  it('reads Ack.now from datapath start, a zero RTT sample as 0xFFFFFFFF, and was_timeout as 0/1', () => {
    const h = harness();
    const id = h.flowWith(
      program([def(report(0), 0), def(report(1), 0), def(report(2), 0)], [[always, [bind(report(0), NOW), bind(report(1), RTT), bind(report(2), TIMEOUT), doReport]]]),
    );
    h.advance(250);
    h.dp.invoke(id, { cwnd: 1, rttSampleUs: 0, wasTimeout: true });
    h.dp.invoke(id, { cwnd: 1, rttSampleUs: 12_345 });
    expect(h.measures().map((m) => m.fields)).toEqual([
      [250, 0xffff_ffff, 1],
      [250, 12_345, 0],
    ]);
  });

  it('clamps transport values into range: NaN and negatives read 0, fractions floor', () => {
    const h = harness();
    const id = h.flowWith(program([def(report(0), 0), def(report(1), 0)], [[always, [bind(report(0), ACKED), bind(report(1), prim(11)), doReport]]]));
    h.dp.invoke(id, { cwnd: 1, bytesAcked: Number.NaN, rateIncoming: 12.9 });
    h.dp.invoke(id, { cwnd: 1, bytesAcked: -5, rateIncoming: Infinity });
    expect(h.measures().map((m) => m.fields)).toEqual([
      [0, 12],
      [0, MAX_VALUE],
    ]);
  });

  it('does not send a report for a program without Report registers (an empty MEASURE means close)', () => {
    const h = harness();
    const id = h.flowWith(program([], [[always, [doReport]]]));
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.measures()).toEqual([]);
  });
});

describe('operators', () => {
  /** Runs `body` (computing into report 0) once per input and returns the reported values. */
  function run(body: ReturnType<typeof op>[], inputs: number[], defs = [def(report(0), 0)]): number[] {
    const h = harness();
    const id = h.flowWith(program(defs, [[always, [...body, doReport]]]));
    for (const x of inputs) h.dp.invoke(id, { cwnd: 1, bytesAcked: x });
    return h.measures().map((m) => m.fields[0]!);
  }

  it('ewma: the new value when the register is 0, else (a·old + (10−a)·new) / 10, floored', () => {
    expect(run([op(Opcode.Ewma, report(0), imm(8), ACKED)], [100, 200, 50])).toEqual([100, 120, 106]);
  });

  it('if / !if assign only when the condition holds / does not', () => {
    const cond = op(Opcode.Gt, tmp(0), ACKED, imm(10));
    expect(run([cond, op(Opcode.If, report(0), tmp(0), ACKED)], [5, 20, 7])).toEqual([0, 20, 20]);
    expect(run([cond, op(Opcode.NotIf, report(0), tmp(0), ACKED)], [5, 20, 7])).toEqual([5, 5, 7]);
  });

  it('comparisons, max, min, div, sub, mul', () => {
    const at = (o: number, r: ReturnType<typeof imm>) => run([op(o as Opcode, report(0), ACKED, r)], [7]);
    expect(at(Opcode.Equiv, imm(7))).toEqual([1]);
    expect(at(Opcode.Lt, imm(7))).toEqual([0]);
    expect(at(Opcode.Max, imm(9))).toEqual([9]);
    expect(at(Opcode.Min, imm(9))).toEqual([7]);
    expect(at(Opcode.Div, imm(2))).toEqual([3]);
    expect(at(Opcode.Sub, imm(7))).toEqual([0]);
    expect(at(Opcode.Mul, imm(0xffff_ffff))).toEqual([7 * 0xffff_ffff]);
  });

  it('integer division is exact near 2^53', () => {
    const big = MAX_VALUE;
    const h = harness();
    const id = h.flowWith(program([def(report(0), 0), def(control(0), 0)], [[always, [op(Opcode.Div, report(0), control(0), ACKED), doReport]]]));
    const divisors = [3, 7, 1_000_003, 4_503_599_627_370_497, 9_007_199_254_740_990];
    for (const d of divisors) {
      h.fromAgent({ type: 'updateFields', socketId: id, updates: [{ regType: RegType.ControlNonVolatile, regIndex: 0, value: big }] });
      h.dp.invoke(id, { cwnd: 1, bytesAcked: d });
    }
    expect(h.measures().map((m) => m.fields[0])).toEqual(divisors.map((d) => Number(BigInt(big) / BigInt(d))));
  });

  it('wrapped_max picks the later of two u32 sequence numbers (libccp semantics)', () => {
    const wm = (a: number, b: number) =>
      run([bind(control(0), imm(a)), op(Opcode.MaxWrap, report(0), control(0), imm(b))], [0], [def(report(0), 0), def(control(0), 0)])[0];
    expect(wm(3, 7)).toBe(7);
    expect(wm(7, 3)).toBe(7);
    expect(wm(0xffff_fff0, 5)).toBe(5); // 5 came after the wrap
    expect(wm(5, 0xffff_fff0)).toBe(5);
    expect(wm(0, 9)).toBe(9);
    expect(wm(9, 0)).toBe(9);
  });
});

describe('arithmetic faults abort one invocation', () => {
  const faulting: [string, ReturnType<typeof op>][] = [
    ['subtraction below 0', op(Opcode.Sub, local(0), imm(1), ACKED)],
    ['division by zero', op(Opcode.Div, local(0), imm(1), prim(1))],
    ['overflow', op(Opcode.Mul, local(0), imm(0xffff_ffff), ACKED)],
    ['ewma weight above 10', op(Opcode.Ewma, report(0), imm(11), ACKED)],
  ];
  it.each(faulting)('%s: no push, no report, counted; the flow goes on', (_why, bad) => {
    const h = harness();
    // Sets Cwnd and asks for a report, then faults; then the faulting instruction only when acked ≥ 2.
    const big = op(Opcode.Gt, flag, ACKED, imm(1));
    const id = h.flowWith(
      program([def(report(0), 0)], [
        [always, [bind(cwnd, imm(20_000)), bind(report(0), imm(5)), doReport, fallthrough]],
        [[big], [bad]],
      ]),
    );
    const err = h.dp.invoke(id, { cwnd: 1000, bytesAcked: 0x40_0000 }); // 0xffffffff · 2^22 > 2^53
    expect(err).toBeInstanceOf(ArithmeticFaultError);
    expect(err?.code).toBe('ERR_CCP_ARITHMETIC');
    expect(h.cwnd).toEqual([]);
    expect(h.measures()).toEqual([]);
    expect(h.dp.stats.arithmeticFaults).toBe(1);
    expect(h.errors).toEqual([err]);
    expect(h.dp.invoke(id, { cwnd: 1000, bytesAcked: 1 })).toBeUndefined();
    expect(h.cwnd).toEqual([[id, 20_000]]);
    expect(h.measures()).toHaveLength(1);
  });

  it('addition overflow past 2^53 − 1', () => {
    const h = harness();
    const id = h.flowWith(program([def(control(0), 0)], [[always, [op(Opcode.Add, control(0), control(0), ACKED)]]]));
    h.fromAgent({ type: 'updateFields', socketId: id, updates: [{ regType: RegType.ControlNonVolatile, regIndex: 0, value: MAX_VALUE - 1 }] });
    expect(h.dp.invoke(id, { cwnd: 1, bytesAcked: 1 })).toBeUndefined();
    expect(h.dp.invoke(id, { cwnd: 1, bytesAcked: 1 })).toBeInstanceOf(ArithmeticFaultError);
  });
});

describe('messages from the agent', () => {
  it('CHANGE_PROG to an unknown uid is a typed error, not silent success; the flow keeps its program', () => {
    const h = harness();
    const id = h.flowWith(counting);
    h.changeProg(id, 99);
    expect(h.errors[0]).toBeInstanceOf(UnknownProgramError);
    expect(h.dp.stats.rejected).toBe(1);
    expect(() => h.dp.handleMessage({ type: 'changeProg', socketId: id, programUid: 99, updates: [] })).toThrow(UnknownProgramError);
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 3 });
    expect(h.measures()).toHaveLength(1);
  });

  it('messages for unknown flows, invalid updates and wrong-direction messages are rejected and counted', () => {
    const h = harness();
    const id = h.flowWith(counting);
    h.fromAgent({ type: 'updateFields', socketId: id + 100, updates: [] });
    expect(h.errors.pop()).toBeInstanceOf(UnknownFlowError);
    expect(() =>
      h.dp.handleMessage({ type: 'updateFields', socketId: id, updates: [{ regType: RegType.Primitive, regIndex: 0, value: 1 }] }),
    ).toThrow(InvalidUpdateError);
    h.fromAgent({ type: 'ready', datapathId: 1 });
    expect(h.errors.pop()?.code).toBe('ERR_CCP_IPC_DECODE');
    h.dp.receive(new Uint8Array([1, 2, 3]));
    expect(h.errors.pop()?.code).toBe('ERR_CCP_IPC_DECODE');
    expect(h.dp.stats.rejected).toBe(3);
  });

  it('INSTALL replaces a program by uid; flows keep running the version they switched to until CHANGE_PROG', () => {
    const h = harness();
    const id = h.flowWith(counting);
    h.install(1, program([def(report(0), 0)], [[always, [bind(report(0), imm(42)), doReport]]]));
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 3 });
    h.changeProg(id, 1);
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 3 });
    expect(h.measures().map((m) => m.fields)).toEqual([[3, 3], [42]]);
  });
});

describe('agent unreachable', () => {
  it('falls back after the timeout, keeps re-sending CREATE, and recovers when the agent answers', () => {
    const h = harness({ fallbackTimeoutUs: 1_000_000 });
    h.install(1, counting);
    const id = h.dp.createFlow(flowInfo);
    for (let t = 0; t < 1_000_000; t += 50_000) {
      h.dp.invoke(id, { cwnd: 1 });
      h.advance(50_000);
    }
    expect(h.fallbacks).toEqual([]);
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.fallbacks).toEqual([[id, true]]);
    expect(h.dp.inFallback(id)).toBe(true);
    h.advance(CREATE_RETRY_US);
    h.take();
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.take().map((m) => m.type)).toEqual(['create']);
    h.changeProg(id, 1);
    expect(h.fallbacks).toEqual([
      [id, true],
      [id, false],
    ]);
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 4 });
    expect(h.measures()).toEqual([{ type: 'measure', socketId: id, programUid: 1, fields: [4, 4] }]);
  });

  it('when the agent socket disappears: READY before the next CREATE, fallback after the timeout', () => {
    const h = harness({ fallbackTimeoutUs: 500_000 });
    const id = h.flowWith(counting);
    h.take();
    h.agentUp = false;
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 1 }); // its report fails: the agent is gone
    h.agentUp = true;
    h.advance(CREATE_RETRY_US);
    h.dp.invoke(id, { cwnd: 1, bytesAcked: 1 }); // program still runs until the timeout
    expect(h.take().map((m) => m.type)).toEqual(['ready', 'create', 'measure']);
    h.advance(500_000);
    h.dp.invoke(id, { cwnd: 1 });
    expect(h.fallbacks).toEqual([[id, true]]);
    h.fromAgent({ type: 'install', socketId: 0, programUid: 1, program: counting });
    h.changeProg(id, 1);
    expect(h.fallbacks.at(-1)).toEqual([id, false]);
  });
});
