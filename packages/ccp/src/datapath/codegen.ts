/**
 * The compiled runtime: each installed program becomes one JavaScript
 * function, generated once at install from the checked, slot-resolved
 * instruction list (`LoadedProgram`): the whole per-ACK step of spec §4
 * steps 3–5 (registers and primitives into locals, the events, registers
 * back to the bank, Cwnd/Rate pushed through the datapath's callbacks, the
 * report decision), so V8 sees one monomorphic function per program, with
 * no try/finally and no allocation. It has the interpreter's semantics
 * (machine.ts) instruction by instruction: faults, ewma, wrapped max,
 * Micros moving time zero, condition/body/fallthrough structure; it
 * differs only in registers no ACK can observe, which it keeps out of the
 * bank (see `generateSource`). The interpreter stays the reference;
 * test/datapath/codegen.test.ts checks they agree.
 *
 * Safety: the source is built only from opcodes, bank slots and immediate
 * values, each checked here to be an integer in its range before it is
 * written into the source, and the fixed primitive expressions of
 * signals.ts; no name or string from a program reaches it. There
 * are no loops, and a program whose events would expand past
 * `MAX_EMITTED_INSTRUCTIONS` (events may share or overlap instruction ranges)
 * is not compiled: it keeps the interpreter.
 */
import { Implicit, Opcode } from '../program.js';
import { MAX_VALUE } from '../ipc/messages.js';
import { faults, type LoadedProgram, maxWrap, MICROS_SLOT, Slot } from './machine.js';
import { primitiveExpression, type ProgramStep, type Pushes, val } from './signals.js';

/** Emitted instructions (conditions and bodies over all events) a compiled program may have: a well-formed program emits each at most once. */
export const MAX_EMITTED_INSTRUCTIONS = 1024;

const FLAG = Slot.implicit + Implicit.EventFlag;
const CONT = Slot.implicit + Implicit.ShouldContinue;
const REPORT = Slot.implicit + Implicit.ShouldReport;
const CWND = Slot.implicit + Implicit.Cwnd;
const RATE = Slot.implicit + Implicit.Rate;

/** A register's value at entry: the step's arguments, step 3 resets, a primitive from the ACK, 0 for a scratch register no ACK reads before writing, else the bank. */
function initial(r: number, scratch: ReadonlySet<number>): string {
  if (r === CWND) return 'cwnd';
  if (r === RATE) return 'rate';
  if (r === FLAG || r === CONT || r === REPORT) return '0';
  if (r === MICROS_SLOT) return 'val(now - f.timeZero)';
  if (r >= Slot.primitive) return primitiveExpression(r - Slot.primitive);
  if (scratch.has(r)) return '0';
  return `b[${r}]`;
}

function checkedInt(n: number, max: number): string {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`codegen: ${n} is not an integer in 0..${max}`);
  return String(n);
}

/** One instruction as a statement; operands are bank reads or immediate literals. */
function emitInstruction(p: LoadedProgram, i: number): string {
  const slot = (s: number): string => {
    const n = checkedInt(s, p.bankSize - 1);
    // Immediates are never written (checked at install), so their value is a constant.
    return s >= Slot.immediate ? checkedInt(p.immediates[s - Slot.immediate]!, 0xffff_ffff) : `r${n}`;
  };
  const d = checkedInt(p.res[i]!, Slot.immediate - 1);
  const a = slot(p.left[i]!);
  const c = slot(p.right[i]!);
  const at = checkedInt(i, 0xffff);
  const max = String(MAX_VALUE);
  const micros = p.res[i] === MICROS_SLOT ? ` f.timeZero = now - r${d};` : '';
  const set = (v: string): string => `r${d} = ${v};${micros}`;
  // A fault ends the events; the registers written so far still go back to the bank, as in the interpreter.
  const fault = (call: string): string => `{ e = F.${call}; break events; }`;
  switch (p.op[i]) {
    case Opcode.Add:
      return `{ const x = ${a}, y = ${c}, v = x + y; if (v > ${max}) ${fault(`add(x, y, ${at})`)} ${set('v')} }`;
    case Opcode.Bind:
      return set(c);
    case Opcode.Div:
      return `{ const x = ${a}, y = ${c}; if (y === 0) ${fault(`div(x, ${at})`)} const q = Math.floor(x / y); ${set('q * y > x ? q - 1 : q')} }`;
    case Opcode.Equiv:
      return set(`${a} === ${c} ? 1 : 0`);
    case Opcode.Ewma:
      return (
        `{ const w = ${a}, y = ${c}, o = r${d}; if (w > 10) ${fault(`ewmaWeight(w, ${at})`)} ` +
        `if (o === 0) { ${set('y')} } else { const n = w * o + (10 - w) * y; if (n > ${max}) ${fault(`ewma(w, o, y, ${at})`)} ` +
        `const q = Math.floor(n / 10); ${set('q * 10 > n ? q - 1 : q')} } }`
      );
    case Opcode.Gt:
      return set(`${a} > ${c} ? 1 : 0`);
    case Opcode.If:
      return `if (${a} !== 0) { ${set(c)} }`;
    case Opcode.Lt:
      return set(`${a} < ${c} ? 1 : 0`);
    case Opcode.Max:
      return `{ const x = ${a}, y = ${c}; ${set('x > y ? x : y')} }`;
    case Opcode.MaxWrap:
      return set(`maxWrap(${a}, ${c})`);
    case Opcode.Min:
      return `{ const x = ${a}, y = ${c}; ${set('x < y ? x : y')} }`;
    case Opcode.Mul:
      return `{ const x = ${a}, y = ${c}, v = x * y; if (v > ${max}) ${fault(`mul(x, y, ${at})`)} ${set('v')} }`;
    case Opcode.NotIf:
      return `if (${a} === 0) { ${set(c)} }`;
    case Opcode.Sub:
      return `{ const x = ${a}, y = ${c}, v = x - y; if (v < 0) ${fault(`sub(x, y, ${at})`)} ${set('v')} }`;
    default:
      return ''; // DEF: applied at program change only
  }
}

/** Registers an instruction reads: BIND only its value (its left operand repeats the target), EWMA also its destination (the old average). */
function reads(p: LoadedProgram, i: number): number[] {
  if (p.op[i] === Opcode.Bind) return [p.right[i]!];
  return p.op[i] === Opcode.Ewma ? [p.left[i]!, p.right[i]!, p.res[i]!] : [p.left[i]!, p.right[i]!];
}

/**
 * The tmp and local registers that no ACK reads before writing: on every
 * path to each read, an unconditional write comes first (in an earlier
 * condition, or earlier in the same condition or body; IF/NOTIF write
 * conditionally). Their values never outlive a step, so the step keeps them
 * out of the bank. The compiler's tmps and locals are all of this kind.
 */
export function scratchRegisters(p: LoadedProgram): Set<number> {
  const readFirst = new Set<number>();
  const candidates = new Set<number>();
  const run = (from: number, to: number, written: Set<number>): void => {
    for (let i = from; i < to; i++) {
      if (p.op[i] === Opcode.Def) continue;
      for (const r of reads(p, i)) if (r >= Slot.tmp && r < Slot.primitive && !written.has(r)) readFirst.add(r);
      const d = p.res[i]!;
      if (d >= Slot.tmp && d < Slot.primitive) candidates.add(d);
      if (p.op[i] !== Opcode.If && p.op[i] !== Opcode.NotIf) written.add(d);
    }
  };
  const ev = p.events;
  const written = new Set<number>();
  for (let e = 0; e < ev.length; e += 4) {
    run(ev[e]!, ev[e + 1]!, written);
    run(ev[e + 2]!, ev[e + 3]!, new Set(written));
  }
  return new Set([...candidates].filter((r) => !readFirst.has(r)));
}

/**
 * The step's body for `p`, or undefined when it would exceed
 * `MAX_EMITTED_INSTRUCTIONS`. Registers live in locals r<slot> for the step.
 * Only those an ACK can observe go back to the bank: Report and control
 * registers, and tmps and locals an ACK may read before writing. The flags,
 * Micros, Cwnd and Rate are set afresh at every ACK (step 3; Micros is
 * kept as the flow's time zero), and scratch registers (`scratchRegisters`)
 * never outlive the step; the interpreter leaves them in its bank, where
 * nothing reads them.
 */
export function generateSource(p: LoadedProgram): string | undefined {
  const ev = p.events;
  let emitted = 0;
  for (let e = 0; e < ev.length; e += 4) emitted += ev[e + 1]! - ev[e]! + ev[e + 3]! - ev[e + 2]!;
  if (emitted > MAX_EMITTED_INSTRUCTIONS) return undefined;
  const scratch = scratchRegisters(p);
  const always = [CWND, RATE, FLAG, CONT, REPORT, MICROS_SLOT];
  const used = new Set<number>(always);
  const written = new Set<number>();
  const range = (from: number, to: number): string[] => {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      out.push(emitInstruction(p, i));
      if (p.op[i] === Opcode.Def) continue;
      written.add(p.res[i]!);
      for (const r of [p.res[i]!, p.left[i]!, p.right[i]!]) if (r < Slot.immediate) used.add(r);
    }
    return out;
  };
  const body: string[] = [];
  for (let e = 0; e < ev.length; e += 4) {
    body.push(`// event ${e / 4}`, ...range(ev[e]!, ev[e + 1]!));
    body.push(`if (r${FLAG} !== 0) {`, ...range(ev[e + 2]!, ev[e + 3]!), `if (r${FLAG} !== 0 && r${CONT} === 0) break events;`, '}');
  }
  const kept = [...written].filter((r) => (r < Slot.implicit || r >= Slot.tmp) && !scratch.has(r)).sort((x, y) => x - y);
  return [
    'const b = f.bank;',
    `let e, ${[...used].sort((x, y) => x - y).map((r) => `r${r} = ${initial(r, scratch)}`).join(', ')};`,
    'events: {',
    ...body,
    '}',
    ...kept.map((r) => `b[${r}] = r${r};`),
    'if (e !== undefined) throw e;',
    `if (r${CWND} > 0) cb.setCwnd(f.id, r${CWND});`,
    `if (r${RATE} !== 0) cb.setRate(f.id, r${RATE});`,
    `return ${p.reportCount > 0 ? `r${REPORT}` : '0'};`,
  ].join('\n');
}
/** Compiles `p` once into a step pushing through `cb`; undefined when it is too large to expand (run it with the interpreter). */
export function compileProgram(p: LoadedProgram, cb: Pushes): ProgramStep | undefined {
  const body = generateSource(p);
  if (body === undefined) return undefined;
  let make = makers.get(body);
  if (make === undefined) {
    // The only free names of the body are its parameters and these helpers.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- source built from checked integers and fixed expressions only (see above)
    make = new Function('F', 'maxWrap', 'val', 'cb', `'use strict';\nreturn function step(f, p, now, ackNow, cwnd, rate) {\n${body}\n};`) as StepMaker;
    if (makers.size >= MAKERS_LIMIT) makers.clear();
    makers.set(body, make);
  }
  return make(faults, maxWrap, val, cb);
}

type StepMaker = (f: typeof faults, mw: typeof maxWrap, v: typeof val, cb: Pushes) => ProgramStep;

/**
 * Step makers by source, shared by every datapath of the process: the steps
 * one maker returns share V8's type feedback and optimised code, where a new
 * `Function` per datapath started each one cold. A simulation creates a
 * datapath per run, and a 4-second run ended before its step was optimised
 * (slower than the interpreter, whose one step is always warm). Cleared when
 * full, so generated programs cannot grow it without bound.
 */
const MAKERS_LIMIT = 256;
const makers = new Map<string, StepMaker>();
