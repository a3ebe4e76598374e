/**
 * Install-time checks. Everything the interpreter relies on is verified here
 * once, so `invoke` never indexes out of range and never loops: events only
 * run straight-line instruction ranges inside the program. Per-instruction
 * and per-event rules are the wire format's (lang/encode.ts); the program-wide
 * rules the interpreter adds are here.
 */
import { InvalidProgramError, InvalidUpdateError, LimitError } from './errors.js';
import { type CompiledProgram, Implicit, Limits, Opcode, RegType } from './program.js';
import { eventProblem, instructionProblem } from './lang/encode.js';
import { MAX_VALUE, type UpdateField } from './ipc/messages.js';

export function isReportReg(type: RegType): boolean {
  return type === RegType.ReportVolatile || type === RegType.ReportNonVolatile;
}

export function isControlReg(type: RegType): boolean {
  return type === RegType.ControlNonVolatile || type === RegType.ControlVolatile;
}

function isIndex(n: number, size: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < size;
}

/**
 * Checks a compiled program against the instruction set and libccp's bounds.
 * Throws `LimitError` (too many events or instructions) or `InvalidProgramError`.
 */
export function checkProgram(program: CompiledProgram): void {
  const { events, instructions } = program;
  if (events.length > Limits.maxEvents) throw new LimitError(`${events.length} events exceed the limit of ${Limits.maxEvents}`);
  if (instructions.length >= Limits.maxInstructions) {
    throw new LimitError(`${instructions.length} instructions reach the limit: at most ${Limits.maxInstructions - 1}`);
  }
  let prologue = true;
  const reportDefs = new Set<number>();
  instructions.forEach((ins, i) => {
    const bad = instructionProblem(ins); // opcode, register types and indices, read-only targets
    if (bad !== undefined) throw new InvalidProgramError(`instruction ${i}: ${bad}`);
    if (ins.op !== Opcode.Def) {
      prologue = false;
      return;
    }
    if (!prologue) throw new InvalidProgramError(`instruction ${i}: DEF after the first non-DEF instruction`);
    if (ins.left.type !== ins.res.type || ins.left.index !== ins.res.index) {
      throw new InvalidProgramError(`instruction ${i}: DEF must repeat its target as the left operand`);
    }
    if (ins.right.type !== RegType.Immediate) throw new InvalidProgramError(`instruction ${i}: DEF value must be an immediate`);
    if (isReportReg(ins.res.type)) {
      if (reportDefs.has(ins.res.index)) throw new InvalidProgramError(`instruction ${i}: Report register ${ins.res.index} defined twice`);
      reportDefs.add(ins.res.index);
    }
  });
  // MEASURE sends Report registers 0..n−1, n = number of Report DEFs (as libccp), so they must be exactly those.
  for (const idx of reportDefs) {
    if (idx >= reportDefs.size) throw new InvalidProgramError(`Report registers must be numbered 0..${reportDefs.size - 1}, found ${idx}`);
  }
  events.forEach((ev, e) => {
    const bad = eventProblem(ev, instructions.length);
    if (bad !== undefined) throw new InvalidProgramError(`event ${e}: ${bad}`);
  });
}

const UPDATABLE = 'updates may set only control registers (types 0 and 8, index < 110), Cwnd (implicit 4) and Rate (implicit 5)';

/** Checks that an update sets a register updates may set, to a value in range. Throws `InvalidUpdateError`. */
export function checkUpdate(u: UpdateField): void {
  const ok = isControlReg(u.regType)
    ? isIndex(u.regIndex, Limits.maxControlRegisters)
    : u.regType === RegType.Implicit && (u.regIndex === Implicit.Cwnd || u.regIndex === Implicit.Rate);
  if (!ok) throw new InvalidUpdateError(`cannot update register ${String(u.regIndex)} of type ${String(u.regType)}: ${UPDATABLE}`);
  if (!isIndex(u.value, MAX_VALUE + 1)) throw new InvalidUpdateError(`update value ${String(u.value)} is not an integer in 0..2^53-1`);
}
