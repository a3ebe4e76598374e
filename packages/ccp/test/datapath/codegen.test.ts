/**
 * The compiled runtime against the interpreter (the reference): the same
 * registers, time zero and faults after every ACK (machine level), and the
 * same reports, cwnd/rate pushes and errors through a whole Datapath.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinAlgorithms, GENERIC_PROGRAMS } from '../../src/algorithms/index.js';
import { compileProgram, generateSource, MAX_EMITTED_INSTRUCTIONS, scratchRegisters } from '../../src/datapath/codegen.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { ArithmeticFaultError } from '../../src/datapath/errors.js';
import { initBank, type LoadedProgram, loadProgram, resetVolatile, Slot } from '../../src/datapath/machine.js';
import { type FlowState, interpreterStep, type Pushes } from '../../src/datapath/signals.js';
import type { Primitives } from '../../src/datapath/datapath.js';
import { MAX_VALUE } from '../../src/ipc/messages.js';
import { compile } from '../../src/lang/index.js';
import { type CompiledProgram, Opcode } from '../../src/program.js';
import { createRng, generateProgram, type Rng } from '../lang/program-generator.js';
import { always, bind, control, cwnd, def, flag, imm, local, micros, op, prim, program, report, shouldReport, tmp } from './asm.js';
import { harness } from './harness.js';

/** Mostly ordinary values, with zeros (division by zero) and huge ones (overflow). */
function value(rng: Rng): number {
  const r = rng();
  if (r < 0.15) return 0;
  if (r < 0.2) return 1;
  if (r < 0.25) return MAX_VALUE - Math.floor(rng() * 1000);
  if (r < 0.3) return Math.floor(rng() * 2 ** 40);
  return Math.floor(rng() * 100_000);
}

interface Ack {
  readonly dtUs: number;
  readonly cwnd: number;
  readonly rate: number;
  readonly prims: number[];
}

function randomAck(rng: Rng): Ack {
  const prims = Array.from({ length: 15 }, () => value(rng));
  prims[14] = rng() < 0.1 ? 1 : 0; // Flow.was_timeout is a Bool
  return { dtUs: Math.floor(rng() * 20_000), cwnd: value(rng), rate: value(rng), prims };
}

/** The ACK as the transport passes it. */
function primitives(a: Ack): Primitives {
  const [bytesAcked, bytesMisordered, ecnBytes, ecnPackets, lostPktsSample, , packetsAcked, packetsMisordered, bytesInFlight, bytesPending, packetsInFlight, rateIncoming, rateOutgoing, rttSampleUs, wasTimeout] = a.prims;
  return {
    cwnd: a.cwnd,
    rate: a.rate,
    bytesAcked,
    bytesMisordered,
    ecnBytes,
    ecnPackets,
    lostPktsSample,
    packetsAcked,
    packetsMisordered,
    bytesInFlight,
    bytesPending,
    packetsInFlight,
    rateIncoming,
    rateOutgoing,
    rttSampleUs,
    wasTimeout: wasTimeout === 1,
  };
}

/**
 * The registers an ACK can observe, which both runtimes keep in the bank:
 * control and Report registers, and the tmps and locals an ACK may read
 * before writing. (The flags, Micros, Cwnd and Rate are set afresh at every
 * ACK and compared through what they drive: pushes, reports, time zero.)
 */
function observable(p: LoadedProgram): (bank: Float64Array) => number[] {
  const scratch = scratchRegisters(p);
  const slots: number[] = [];
  for (let r = 0; r < Slot.primitive; r++) if ((r < Slot.implicit || r >= Slot.tmp) && !scratch.has(r)) slots.push(r);
  return (bank) => slots.map((r) => bank[r]!);
}

/** Pushes a step makes, as `c<cwnd>`/`r<rate>` strings. */
function recorder(): Pushes & { pushes: string[] } {
  const pushes: string[] = [];
  return { pushes, setCwnd: (_id, b) => pushes.push(`c${b}`), setRate: (_id, r) => pushes.push(`r${r}`) };
}

/** Runs `program` on the interpreter and the compiled step in lockstep; returns how many ACKs faulted. */
function lockstep(program: CompiledProgram, acks: readonly Ack[]): number {
  const p = loadProgram(1, program);
  const cbs = [recorder(), recorder()];
  const compiled = compileProgram(p, cbs[1]!);
  if (compiled === undefined) throw new Error('program was not compiled');
  const states = [0, 1].map((): FlowState => ({ id: 1, bank: initBank(p), timeZero: 0, now: 0 }));
  const steps = [interpreterStep(p, cbs[0]!), compiled];
  const kept = observable(p);
  let now = 0;
  let faults = 0;
  for (const ack of acks) {
    now += ack.dtUs;
    const prims = primitives(ack);
    const outs = states.map((s, k) => {
      cbs[k]!.pushes.length = 0;
      try {
        return steps[k]!(s, prims, now, ack.prims[5]!, ack.cwnd, ack.rate);
      } catch (err) {
        if (!(err instanceof ArithmeticFaultError)) throw err;
        return `${err.instruction}: ${err.message}`;
      }
    });
    const [si, sc] = states as [FlowState, FlowState];
    const [bi, bc] = [kept(si.bank), kept(sc.bank)];
    const [pi, pc] = cbs.map((c) => c.pushes.join());
    // Compare by hand and call expect only on a difference: 100,000 ACKs go through here.
    if (outs[0] !== outs[1] || pi !== pc || si.timeZero !== sc.timeZero || bi.some((v, i) => bc[i] !== v)) {
      expect({ out: outs[1], pushes: pc, timeZero: sc.timeZero, bank: bc }).toEqual({ out: outs[0], pushes: pi, timeZero: si.timeZero, bank: bi });
    }
    if (typeof outs[0] === 'string') faults++;
    else if (outs[0] !== 0) states.forEach((s) => resetVolatile(p, s.bank));
  }
  return faults;
}

/** The same program and ACKs through a compiled and an interpreting Datapath: the same messages, pushes and errors. */
function sameOutputs(program: CompiledProgram, acks: readonly Ack[]): void {
  const hs = (['interpreter', 'compiled'] as const).map((runtime) => harness({ runtime }));
  const outputs = hs.map((h) => {
    expect(h.dp.runtime).toBe(h === hs[0] ? 'interpreter' : 'compiled');
    const id = h.flowWith(program);
    for (const a of acks) {
      h.advance(a.dtUs);
      h.dp.invoke(id, primitives(a));
    }
    return { sent: h.sent, cwnd: h.cwnd, rate: h.rate, errors: h.errors.map((e) => e.message), stats: h.dp.stats };
  });
  expect(outputs[1]).toEqual(outputs[0]);
}

const acksFor = (seed: number, n: number): Ack[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => randomAck(rng));
};

/** Every distinct program the built-in algorithms install, in every reporting and slow-start mode: [name, source]. */
function builtinPrograms(): [string, string][] {
  const out = new Map<string, string>(Object.entries(GENERIC_PROGRAMS).map(([n, s]) => [s, `generic ${n}`]));
  for (const report of [undefined, 'rtt', 'ack', { intervalUs: 10_000 }] as const) {
    for (const slowStart of [undefined, 'agent', 'datapath-window', 'datapath-rate'] as const) {
      for (const a of builtinAlgorithms({ report, slowStart })) {
        for (const [name, src] of Object.entries(a.programs)) if (!out.has(src)) out.set(src, `${a.name} ${name} (${JSON.stringify(report)}, ${slowStart})`);
      }
    }
  }
  return [...out].map(([src, name]) => [name, src]);
}

/** The complete programs of the compiler's golden tests (the portus-compatible examples), plus one per operator. */
function goldenPrograms(): string[] {
  const text = readFileSync(new URL('../lang/golden.test.ts', import.meta.url), 'utf8');
  const literals = [...text.matchAll(/'([^'\n]*)'|`([^`]*)`/g)].map((m) => m[1] ?? m[2]!).filter((s) => !s.includes('${'));
  const frame = (body: string): string => `(def (Report (x 0) (b false))) (when true ${body})`;
  const frames = [...text.matchAll(/frame\('([^']*)'\)/g)].map((m) => frame(m[1]!));
  const ops = ['+', '-', '*', '/', 'max', 'min', 'wrapped_max'].map((o) => frame(`(:= Report.x (${o} 7 Ack.bytes_acked)) (:= Report.x (${o} Report.x Flow.rtt_sample_us))`));
  const cmps = ['==', '>', '<'].map((o) => frame(`(:= Report.b (${o} Report.x 3)) (:= Report.x (+ Report.x Ack.bytes_acked))`));
  const sources = [...literals.filter((s) => /^\s*\(def[\s\S]*\(when/.test(s)), ...frames, ...ops, ...cmps];
  return sources.filter((s) => {
    try {
      compile(s);
      return true;
    } catch {
      return false; // an error-case literal
    }
  });
}

describe('compiled runtime = interpreter', () => {
  it('on every program of the built-in algorithms', () => {
    const programs = builtinPrograms();
    expect(programs.length).toBeGreaterThanOrEqual(4);
    programs.forEach(([name, src], i) => {
      const p = compile(src);
      const acks = acksFor(100 + i, 200);
      expect(() => lockstep(p, acks), name).not.toThrow();
      sameOutputs(p, acks);
    });
  });

  it('on the compiler golden examples and every operator', () => {
    const programs = goldenPrograms();
    expect(programs.length).toBeGreaterThan(20);
    programs.forEach((src, i) => {
      const p = compile(src);
      const acks = acksFor(1000 + i, 50);
      lockstep(p, acks);
      sameOutputs(p, acks);
    });
  });

  it('on 5,000 random programs × 20 ACKs, faults included', () => {
    const rng = createRng(0xc0de);
    let faults = 0;
    let reports = 0;
    for (let i = 0; i < 5000; i++) {
      const p = compile(generateProgram(rng));
      const acks = Array.from({ length: 20 }, () => randomAck(rng));
      faults += lockstep(p, acks);
      if (i % 10 === 0) sameOutputs(p, acks); // the Datapath around the program is the same code for both
      reports += p.reports.length;
    }
    // The ACK values must exercise the fault paths, not only the happy one.
    expect(faults).toBeGreaterThan(1000);
    expect(reports).toBeGreaterThan(0);
  }, 300_000); // 100,000 ACKs twice over on a loaded machine

  it('on hand-built lists: Micros assignment, If/NotIf, ewma, overlapping event ranges', () => {
    const p: CompiledProgram = {
      instructions: [
        op(Opcode.Def, report(0), report(0), imm(0)),
        op(Opcode.Bind, flag, flag, imm(1)),
        op(Opcode.Ewma, report(0), imm(3), cwnd),
        op(Opcode.Gt, tmp(0), report(0), imm(5000)),
        op(Opcode.If, micros, tmp(0), imm(7)),
        op(Opcode.NotIf, shouldReport, tmp(0), imm(1)),
        op(Opcode.Div, cwnd, cwnd, imm(2)),
      ],
      events: [
        { flagIdx: 1, numFlag: 1, bodyIdx: 2, numBody: 4 },
        { flagIdx: 1, numFlag: 5, bodyIdx: 2, numBody: 5 },
      ],
    };
    lockstep(p, acksFor(7, 500));
    sameOutputs(p, acksFor(7, 500));
  });
});

describe('scratch registers (kept out of the bank)', () => {
  const scratchOf = (prog: ReturnType<typeof program>): number[] => [...scratchRegisters(loadProgram(1, prog))].sort((a, b) => a - b);
  const T = (i: number): number => Slot.tmp + i;
  const L = (i: number): number => Slot.local + i;

  it('are the tmps and locals every path writes before reading', () => {
    const p = program(
      [def(report(0), 0)],
      [
        [[bind(tmp(0), prim(0)), op(Opcode.Gt, flag, tmp(0), imm(1))], [bind(local(0), imm(3)), op(Opcode.Add, report(0), report(0), local(0))]],
        [[...always, op(Opcode.Add, tmp(1), tmp(0), imm(1))], [bind(report(0), tmp(1))]],
      ],
    );
    expect(scratchOf(p)).toEqual([T(0), T(1), L(0)]);
  });

  it('exclude what an ACK may read first: before any write, after a write in an earlier body only, after IF/NOTIF, and EWMA destinations', () => {
    const p = program(
      [def(report(0), 0)],
      [
        [always, [bind(tmp(0), imm(1)), op(Opcode.If, tmp(1), prim(0), imm(2)), op(Opcode.Ewma, tmp(2), imm(3), prim(0))]],
        [[...always, op(Opcode.Add, report(0), tmp(0), tmp(1))], [op(Opcode.Add, report(0), report(0), local(0)), bind(local(0), imm(1))]],
        [[bind(control(0), tmp(3)), bind(tmp(3), imm(1))], []],
      ],
    );
    expect(scratchOf(p)).toEqual([]);
  });

  it('keep the registers an ACK can observe equal to the interpreter\'s on hand-built reads before writes', () => {
    const p = program(
      [def(report(0), 0)],
      [[always, [op(Opcode.Add, report(0), report(0), tmp(0)), op(Opcode.Add, tmp(0), tmp(0), prim(0)), op(Opcode.Ewma, local(1), imm(5), prim(0)), op(Opcode.Add, report(0), report(0), local(1))]]],
    );
    lockstep(p, acksFor(11, 300));
    sameOutputs(p, acksFor(11, 300));
  });
});

describe('generated code', () => {
  it('holds only bank reads, numbers, fault calls and fixed syntax', () => {
    const p = loadProgram(1, compile(GENERIC_PROGRAMS.rtt));
    const src = generateSource(p)!;
    // Primitive reads are the fixed expressions of signals.ts (property names of `Primitives`).
    const words = new Set(src.replace(/\/\/ event \d+/g, '').replace(/\bp\.\w+/g, 'p').match(/[A-Za-z_]\w*/g));
    for (const w of words) if (!/^r\d+$/.test(w)) expect(['b', 'f', 'e', 'throw', 'undefined', 'let', 'bank', 'const', 'if', 'else', 'return', 'events', 'break', 'x', 'y', 'v', 'q', 'w', 'o', 'n', 'F', 'add', 'sub', 'mul', 'div', 'ewma', 'ewmaWeight', 'Math', 'floor', 'maxWrap', 'timeZero', 'now', 'p', 'val', 'ackNow', 'true', 'cwnd', 'rate', 'cb', 'setCwnd', 'setRate', 'id']).toContain(w);
    expect(src).not.toMatch(/\b(for|while|do)\b/);
  });

  it('a program whose events expand past the bound keeps the interpreter', () => {
    const body = Array.from({ length: 200 }, () => op(Opcode.Add, report(0), report(0), imm(1)));
    const p: CompiledProgram = {
      instructions: [op(Opcode.Def, report(0), report(0), imm(0)), ...body],
      events: Array.from({ length: 6 }, () => ({ flagIdx: 1, numFlag: 0, bodyIdx: 1, numBody: 200 })),
    };
    expect(6 * 200).toBeGreaterThan(MAX_EMITTED_INSTRUCTIONS);
    expect(compileProgram(loadProgram(1, p), recorder())).toBeUndefined();
    const h = harness();
    const id = h.flowWith(p);
    h.dp.invoke(id, { cwnd: 1000 }); // the empty condition leaves eventFlag 0: nothing runs, nothing breaks
    expect(h.errors).toEqual([]);
  });

  it('the runtime is chosen by option, else by BERTHA_CCP_RUNTIME, else compiled', () => {
    const cb = { now: () => 0, setCwnd: () => {}, setRate: () => {}, send: () => true };
    const saved = process.env.BERTHA_CCP_RUNTIME;
    try {
      delete process.env.BERTHA_CCP_RUNTIME;
      expect(new Datapath(cb).runtime).toBe('compiled');
      process.env.BERTHA_CCP_RUNTIME = 'interpreter';
      expect(new Datapath(cb).runtime).toBe('interpreter');
      expect(new Datapath(cb, { runtime: 'compiled' }).runtime).toBe('compiled');
      process.env.BERTHA_CCP_RUNTIME = 'jit';
      expect(() => new Datapath(cb)).toThrow(/BERTHA_CCP_RUNTIME/);
    } finally {
      if (saved === undefined) delete process.env.BERTHA_CCP_RUNTIME;
      else process.env.BERTHA_CCP_RUNTIME = saved;
    }
  });
});
