/**
 * Register allocation: gives every name of a checked program its register.
 * Report registers are numbered in register order (Report block first),
 * controls and locals likewise; volatile and non-volatile variables of one
 * kind share an index space, as in libccp's register file.
 */
import { LimitError } from '../errors.js';
import { Limits, RegType, type Reg } from '../program.js';
import type { CheckedProgram, Variable } from './checker.js';

function enforce(count: number, max: number, what: string, limitName: keyof typeof Limits): void {
  if (count > max) {
    throw new LimitError(`program declares ${count} ${what}, but libccp allows at most ${max} (Limits.${limitName}): use fewer`);
  }
}

/** Maps every name in the program's scope to its register. Throws `LimitError`. */
export function allocateRegisters(p: CheckedProgram): ReadonlyMap<string, Reg> {
  enforce(p.reports.length, Limits.maxReportRegisters, 'Report variables', 'maxReportRegisters');
  enforce(p.controls.length, Limits.maxControlRegisters, 'control variables', 'maxControlRegisters');
  enforce(p.locals.length, Limits.maxLocalRegisters, 'local variables', 'maxLocalRegisters');
  const regs = new Map<string, Reg>();
  p.reports.forEach((v, index) => regs.set(v.name, { type: v.volatile ? RegType.ReportVolatile : RegType.ReportNonVolatile, index }));
  p.controls.forEach((v, index) => regs.set(v.name, { type: v.volatile ? RegType.ControlVolatile : RegType.ControlNonVolatile, index }));
  p.locals.forEach((v, index) => regs.set(v.name, { type: RegType.Local, index }));
  for (const v of p.scope.values()) {
    if (v.kind === 'primitive' || v.kind === 'implicit') regs.set(v.name, fixedRegister(v));
  }
  return regs;
}

function fixedRegister(v: Extract<Variable, { kind: 'primitive' | 'implicit' }>): Reg {
  return { type: v.kind === 'primitive' ? RegType.Primitive : RegType.Implicit, index: v.index };
}
