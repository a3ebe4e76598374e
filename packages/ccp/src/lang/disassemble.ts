/**
 * Human-readable listings of compiled programs, for golden tests and
 * debugging. One instruction reads `OP result <- left, right`; DEF and BIND,
 * whose left operand repeats the target, read `OP result <- value`. A DEF
 * shows the register's volatility (`report-volatile#0`); other uses show only
 * its file (`report#0`).
 */
import { Implicit, Limits, Opcode, PRIMITIVES, RegType, type CompiledProgram, type Instruction, type Reg } from '../program.js';
import type { ProgramVariable } from './compiler.js';

const OPCODE_NAMES = new Map<number, string>(Object.entries(Opcode).map(([name, code]) => [code, name.toUpperCase()]));
const IMPLICIT_NAMES = new Map<number, string>([
  [Implicit.EventFlag, 'eventFlag'],
  [Implicit.ShouldContinue, 'shouldContinue'],
  [Implicit.ShouldReport, 'shouldReport'],
  [Implicit.Micros, 'Micros'],
  [Implicit.Cwnd, 'Cwnd'],
  [Implicit.Rate, 'Rate'],
]);

const FILE_NAMES: Readonly<Record<RegType, string>> = {
  [RegType.ControlNonVolatile]: 'control',
  [RegType.Immediate]: 'imm',
  [RegType.Implicit]: 'implicit',
  [RegType.Local]: 'local',
  [RegType.Primitive]: 'primitive',
  [RegType.ReportVolatile]: 'report',
  [RegType.ReportNonVolatile]: 'report',
  [RegType.Tmp]: 'tmp',
  [RegType.ControlVolatile]: 'control',
};

const DEF_NAMES: Partial<Record<RegType, string>> = {
  [RegType.ControlNonVolatile]: 'control-nonvolatile',
  [RegType.ControlVolatile]: 'control-volatile',
  [RegType.ReportVolatile]: 'report-volatile',
  [RegType.ReportNonVolatile]: 'report-nonvolatile',
};

/** One operand: `4`, `+infinity`, `eventFlag`, `Ack.bytes_acked`, `tmp#0`, `report#2` … */
export function formatRegister(r: Reg, inDef = false): string {
  switch (r.type) {
    case RegType.Immediate:
      return r.index === Limits.infinity ? '+infinity' : String(r.index);
    case RegType.Implicit:
      return IMPLICIT_NAMES.get(r.index) ?? `implicit#${r.index}`;
    case RegType.Primitive:
      return PRIMITIVES[r.index] ?? `primitive#${r.index}`;
    default: {
      const file = (inDef ? DEF_NAMES[r.type] : undefined) ?? FILE_NAMES[r.type] ?? `type${String(r.type)}`;
      return `${file}#${r.index}`;
    }
  }
}

/** One instruction, e.g. `DEF report-nonvolatile#0 <- 0`, `ADD tmp#0 <- Cwnd, Ack.bytes_acked`. */
export function disassembleInstruction(instr: Instruction): string {
  const op = OPCODE_NAMES.get(instr.op) ?? `OP${instr.op}`;
  const isDef = instr.op === Opcode.Def;
  const res = formatRegister(instr.res, isDef);
  if (isDef || instr.op === Opcode.Bind) return `${op} ${res} <- ${formatRegister(instr.right)}`;
  return `${op} ${res} <- ${formatRegister(instr.left)}, ${formatRegister(instr.right)}`;
}

/**
 * A full listing: numbered instructions with `;` lines marking where each
 * `when` clause's condition and body begin. Given the compiler's metadata,
 * DEF lines name their variable.
 */
export function disassemble(p: CompiledProgram & { readonly reports?: readonly ProgramVariable[]; readonly controls?: readonly ProgramVariable[] }): string {
  const names = new Map<string, string>();
  for (const v of [...(p.reports ?? []), ...(p.controls ?? [])]) names.set(`${v.reg.type}:${v.reg.index}`, v.name);
  const markers = new Map<number, string[]>();
  const mark = (at: number, text: string): void => {
    const list = markers.get(at) ?? [];
    list.push(text);
    markers.set(at, list);
  };
  p.events.forEach((ev, k) => {
    mark(ev.flagIdx, `; when #${k} condition (${ev.numFlag})`);
    mark(ev.bodyIdx, `; when #${k} body (${ev.numBody})`);
  });
  const width = String(Math.max(p.instructions.length - 1, 0)).length;
  const lines: string[] = [];
  p.instructions.forEach((instr, i) => {
    lines.push(...(markers.get(i) ?? []));
    const name = instr.op === Opcode.Def ? names.get(`${instr.res.type}:${instr.res.index}`) : undefined;
    lines.push(`${String(i).padStart(width)}  ${disassembleInstruction(instr)}${name === undefined ? '' : `  ; ${name}`}`);
  });
  for (const [at, text] of markers) if (at >= p.instructions.length) lines.push(...text);
  return lines.join('\n');
}
