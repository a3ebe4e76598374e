/**
 * Wire layout of compiled programs (the body of INSTALL_EXPR), little-endian:
 *
 *   event:       u32 flagIdx | u32 numFlag | u32 bodyIdx | u32 numBody          (16 B)
 *   instruction: u8 op | u8 resType | u32 res | u8 leftType | u32 left
 *                | u8 rightType | u32 right                                      (16 B, packed)
 *
 * Events come first, then instructions. Decoding validates everything libccp
 * trusts blindly (opcodes, register types and indices, event ranges), so a
 * decoded program is safe to run.
 */
import { InvalidArgumentError } from '@bertha/core';
import { IpcDecodeError, LimitError } from '../errors.js';
import { Limits, Opcode, PRIMITIVES, RegType, type CompiledProgram, type EventSpec, type Instruction, type Reg } from '../program.js';

export const INSTRUCTION_SIZE = 16;
export const EVENT_SIZE = 16;

const U32_MAX = 0xffff_ffff;
const NUM_OPCODES = Object.keys(Opcode).length;
const NUM_REG_TYPES = Object.keys(RegType).length;

/** Number of registers of each type in libccp's register file (immediates hold any u32). */
const REGISTER_COUNT: Readonly<Record<RegType, number>> = {
  [RegType.ControlNonVolatile]: Limits.maxControlRegisters,
  [RegType.Immediate]: U32_MAX + 1,
  [RegType.Implicit]: 6,
  [RegType.Local]: Limits.maxLocalRegisters,
  [RegType.Primitive]: PRIMITIVES.length,
  [RegType.ReportVolatile]: Limits.maxReportRegisters,
  [RegType.ReportNonVolatile]: Limits.maxReportRegisters,
  [RegType.Tmp]: Limits.maxTmpRegisters,
  [RegType.ControlVolatile]: Limits.maxControlRegisters,
};

const DEF_TARGETS: ReadonlySet<number> = new Set([
  RegType.ControlNonVolatile,
  RegType.ControlVolatile,
  RegType.ReportVolatile,
  RegType.ReportNonVolatile,
]);

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= U32_MAX;

function registerProblem(r: Reg, role: string): string | undefined {
  if (!Number.isInteger(r.type) || r.type < 0 || r.type >= NUM_REG_TYPES) return `${role} register type ${r.type} is not 0…${NUM_REG_TYPES - 1}`;
  const count = REGISTER_COUNT[r.type];
  if (!isU32(r.index) || r.index >= count) return `${role} register index ${r.index} is out of range for type ${r.type} (0…${count - 1})`;
  return undefined;
}

/** Why `instr` is not a valid libccp instruction, or undefined if it is. */
export function instructionProblem(instr: Instruction): string | undefined {
  if (!Number.isInteger(instr.op) || instr.op < 0 || instr.op >= NUM_OPCODES) return `opcode ${instr.op} is not 0…${NUM_OPCODES - 1}`;
  const bad = registerProblem(instr.res, 'result') ?? registerProblem(instr.left, 'left') ?? registerProblem(instr.right, 'right');
  if (bad !== undefined) return bad;
  if (instr.res.type === RegType.Immediate || instr.res.type === RegType.Primitive) {
    return `result register type ${instr.res.type} is read-only (immediate or primitive)`;
  }
  if (instr.op === Opcode.Def && !DEF_TARGETS.has(instr.res.type)) {
    return `DEF must target a Report or control register, not type ${instr.res.type}`;
  }
  return undefined;
}

/** Why `ev` is not a valid event of a program with `numInstrs` instructions, or undefined. */
export function eventProblem(ev: EventSpec, numInstrs: number): string | undefined {
  const fields = [ev.flagIdx, ev.numFlag, ev.bodyIdx, ev.numBody];
  if (!fields.every(isU32)) return `event fields ${fields.join(', ')} are not all u32`;
  if (ev.flagIdx + ev.numFlag > numInstrs || ev.bodyIdx + ev.numBody > numInstrs) {
    return `event [${ev.flagIdx}+${ev.numFlag}, ${ev.bodyIdx}+${ev.numBody}] reaches past the ${numInstrs} instructions`;
  }
  return undefined;
}

function countsProblem(numEvents: number, numInstrs: number): string | undefined {
  if (!isU32(numEvents) || !isU32(numInstrs)) return `counts ${numEvents} events, ${numInstrs} instructions are not u32`;
  if (numEvents > Limits.maxEvents) return `${numEvents} events exceed libccp's limit of ${Limits.maxEvents} (Limits.maxEvents)`;
  if (numInstrs >= Limits.maxInstructions) {
    return `${numInstrs} instructions exceed libccp's limit of ${Limits.maxInstructions - 1} (Limits.maxInstructions)`;
  }
  return undefined;
}

function ensureRoom(view: DataView, offset: number, bytes: number, fail: (msg: string) => Error): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + bytes > view.byteLength) {
    throw fail(`${bytes} bytes at offset ${offset} do not fit a buffer of ${view.byteLength} bytes`);
  }
}

const invalidArgument = (msg: string): Error => new InvalidArgumentError(msg);
const decodeError = (msg: string): Error => new IpcDecodeError(msg);

/** Writes one instruction at `offset`; returns the offset after it. Throws `InvalidArgumentError`. */
export function encodeInstruction(instr: Instruction, out: DataView, offset: number): number {
  const bad = instructionProblem(instr);
  if (bad !== undefined) throw new InvalidArgumentError(`cannot encode instruction: ${bad}`);
  ensureRoom(out, offset, INSTRUCTION_SIZE, invalidArgument);
  out.setUint8(offset, instr.op);
  out.setUint8(offset + 1, instr.res.type);
  out.setUint32(offset + 2, instr.res.index, true);
  out.setUint8(offset + 6, instr.left.type);
  out.setUint32(offset + 7, instr.left.index, true);
  out.setUint8(offset + 11, instr.right.type);
  out.setUint32(offset + 12, instr.right.index, true);
  return offset + INSTRUCTION_SIZE;
}

/** Reads one instruction at `offset`. Throws `IpcDecodeError` if it is invalid. */
export function decodeInstruction(view: DataView, offset: number): Instruction {
  ensureRoom(view, offset, INSTRUCTION_SIZE, decodeError);
  const reg = (at: number): Reg => ({ type: view.getUint8(at) as RegType, index: view.getUint32(at + 1, true) });
  const instr: Instruction = { op: view.getUint8(offset) as Opcode, res: reg(offset + 1), left: reg(offset + 6), right: reg(offset + 11) };
  const bad = instructionProblem(instr);
  if (bad !== undefined) throw new IpcDecodeError(`invalid instruction at byte ${offset}: ${bad}`);
  return instr;
}

/** Writes one event at `offset`; returns the offset after it. Throws `InvalidArgumentError` for non-u32 fields. */
export function encodeEvent(ev: EventSpec, out: DataView, offset: number): number {
  const fields = [ev.flagIdx, ev.numFlag, ev.bodyIdx, ev.numBody];
  if (!fields.every(isU32)) throw new InvalidArgumentError(`cannot encode event: fields ${fields.join(', ')} are not all u32`);
  ensureRoom(out, offset, EVENT_SIZE, invalidArgument);
  fields.forEach((v, i) => out.setUint32(offset + 4 * i, v, true));
  return offset + EVENT_SIZE;
}

/** Reads one event at `offset` (its ranges are checked by `decodeProgramBody`). */
export function decodeEvent(view: DataView, offset: number): EventSpec {
  ensureRoom(view, offset, EVENT_SIZE, decodeError);
  const u32 = (i: number): number => view.getUint32(offset + 4 * i, true);
  return { flagIdx: u32(0), numFlag: u32(1), bodyIdx: u32(2), numBody: u32(3) };
}

/** Bytes `encodeProgramBody` writes for `p`. */
export function programBodySize(p: CompiledProgram): number {
  return (p.events.length + p.instructions.length) * INSTRUCTION_SIZE;
}

/**
 * Writes the events then the instructions of `p` at `offset` (the INSTALL_EXPR
 * body after its 20-byte header); returns the offset after them. Throws
 * `LimitError` for a program libccp cannot hold, `InvalidArgumentError` for an
 * invalid one or a buffer too small.
 */
export function encodeProgramBody(p: CompiledProgram, out: DataView, offset: number): number {
  const limits = countsProblem(p.events.length, p.instructions.length);
  if (limits !== undefined) throw new LimitError(`cannot encode program: ${limits}`);
  for (const ev of p.events) {
    const bad = eventProblem(ev, p.instructions.length);
    if (bad !== undefined) throw new InvalidArgumentError(`cannot encode program: ${bad}`);
  }
  ensureRoom(out, offset, programBodySize(p), invalidArgument);
  let at = offset;
  for (const ev of p.events) at = encodeEvent(ev, out, at);
  for (const instr of p.instructions) at = encodeInstruction(instr, out, at);
  return at;
}

/** Reads a program body written by `encodeProgramBody`. Throws `IpcDecodeError` if anything is invalid. */
export function decodeProgramBody(view: DataView, offset: number, numEvents: number, numInstrs: number): CompiledProgram {
  const limits = countsProblem(numEvents, numInstrs);
  if (limits !== undefined) throw new IpcDecodeError(`program rejected: ${limits}`);
  ensureRoom(view, offset, (numEvents + numInstrs) * INSTRUCTION_SIZE, decodeError);
  const events: EventSpec[] = [];
  for (let i = 0; i < numEvents; i++) {
    const ev = decodeEvent(view, offset + i * EVENT_SIZE);
    const bad = eventProblem(ev, numInstrs);
    if (bad !== undefined) throw new IpcDecodeError(`program rejected: event ${i}: ${bad}`);
    events.push(ev);
  }
  const base = offset + numEvents * EVENT_SIZE;
  const instructions: Instruction[] = [];
  for (let i = 0; i < numInstrs; i++) instructions.push(decodeInstruction(view, base + i * INSTRUCTION_SIZE));
  return { events, instructions };
}
