/** A tiny assembler for hand-built programs in tests. */
import { type CompiledProgram, type EventSpec, Implicit, type Instruction, Opcode, type Reg, RegType } from '../../src/program.js';

export const imm = (v: number): Reg => ({ type: RegType.Immediate, index: v });
export const report = (i: number): Reg => ({ type: RegType.ReportNonVolatile, index: i });
export const vreport = (i: number): Reg => ({ type: RegType.ReportVolatile, index: i });
export const control = (i: number): Reg => ({ type: RegType.ControlNonVolatile, index: i });
export const vcontrol = (i: number): Reg => ({ type: RegType.ControlVolatile, index: i });
export const local = (i: number): Reg => ({ type: RegType.Local, index: i });
export const tmp = (i: number): Reg => ({ type: RegType.Tmp, index: i });
export const prim = (i: number): Reg => ({ type: RegType.Primitive, index: i });
const implicit = (i: number): Reg => ({ type: RegType.Implicit, index: i });
export const flag = implicit(Implicit.EventFlag);
export const cont = implicit(Implicit.ShouldContinue);
export const shouldReport = implicit(Implicit.ShouldReport);
export const micros = implicit(Implicit.Micros);
export const cwnd = implicit(Implicit.Cwnd);
export const rate = implicit(Implicit.Rate);

export const op = (o: Opcode, res: Reg, left: Reg, right: Reg): Instruction => ({ op: o, res, left, right });
/** `res ← value` (BIND repeats the target as left operand). */
export const bind = (res: Reg, value: Reg): Instruction => op(Opcode.Bind, res, res, value);
export const def = (res: Reg, value: number): Instruction => op(Opcode.Def, res, res, imm(value));

/** Builds a program from DEFs and `[condition, body]` pairs, computing event indices. */
export function program(defs: Instruction[], events: [Instruction[], Instruction[]][]): CompiledProgram {
  const instructions: Instruction[] = [...defs];
  const evs: EventSpec[] = [];
  for (const [cond, body] of events) {
    const flagIdx = instructions.length;
    instructions.push(...cond);
    const bodyIdx = instructions.length;
    instructions.push(...body);
    evs.push({ flagIdx, numFlag: cond.length, bodyIdx, numBody: body.length });
  }
  return { events: evs, instructions };
}

/** `when true` */
export const always: Instruction[] = [bind(flag, imm(1))];
export const fallthrough = bind(cont, imm(1));
export const doReport = bind(shouldReport, imm(1));
