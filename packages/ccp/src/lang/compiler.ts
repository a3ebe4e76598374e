/**
 * The compiler driver and code generator: parse → check → allocate registers
 * → emit. Emission follows portus exactly, so the same source yields the same
 * bytes as the original agent:
 *
 * - one DEF per Report/control variable, sorted by full name;
 * - per `when`: the condition (its last instruction writes eventFlag; an atom
 *   condition is `BIND eventFlag ← atom`), then the body;
 * - expressions depth-first, left operand first, one fresh tmp per operator,
 *   tmps restarting at 0 for each condition and each body expression;
 * - `(:= x e)` is `BIND x ← e`; `(:= x (if c v))` is `IF x ← c, v` (likewise
 *   `!if`, `ewma`); `(report)`/`(fallthrough)` desugar to `BIND
 *   shouldReport/shouldContinue ← 1`; Bools are the immediates 1 and 0;
 * - `&&` is MUL and `||` is ADD: a true `||` may hold 2. Everything that
 *   consumes a Bool in libccp (event flags, IF, NOTIF) tests for non-zero, and
 *   the checker forbids comparing Bools with `==`, so only a report of a Bool
 *   variable can show the 2.
 */
import { LimitError, type SourcePos } from '../errors.js';
import { Implicit, Limits, Opcode, RegType, type CompiledProgram, type EventSpec, type Instruction, type Reg } from '../program.js';
import type { BinaryOp, Expr, ProgramAst } from './ast.js';
import { check, STATEFUL, type CheckedProgram, type CompileWarning, type DeclaredVar, type ValueType } from './checker.js';
import { parse } from './parser.js';
import { allocateRegisters } from './registers.js';

/** A Report or control variable of a compiled program. */
export interface ProgramVariable {
  /** Full name, as used in bodies: `Report.acked`, `gain`. */
  readonly name: string;
  readonly valueType: ValueType;
  readonly volatile: boolean;
  /** Value the DEF gives it (and a report resets a volatile variable to). Bools are 1/0. */
  readonly init: number;
  readonly reg: Reg;
}

/** A compiled program plus what the agent needs to use it. */
export interface CompiledProgramInfo extends CompiledProgram {
  /** Report fields in register order: the order of values in a MEASURE message. */
  readonly reports: readonly ProgramVariable[];
  /** Control variables in register order, with their default values. */
  readonly controls: readonly ProgramVariable[];
  readonly warnings: readonly CompileWarning[];
}

const OPCODES: Readonly<Record<BinaryOp, Opcode>> = {
  '+': Opcode.Add,
  '-': Opcode.Sub,
  '*': Opcode.Mul,
  '/': Opcode.Div,
  '==': Opcode.Equiv,
  '>': Opcode.Gt,
  '<': Opcode.Lt,
  max: Opcode.Max,
  min: Opcode.Min,
  wrapped_max: Opcode.MaxWrap,
  '&&': Opcode.Mul,
  '||': Opcode.Add,
  ':=': Opcode.Bind,
  if: Opcode.If,
  '!if': Opcode.NotIf,
  ewma: Opcode.Ewma,
};

const implicit = (index: Implicit): Reg => ({ type: RegType.Implicit, index });
const imm = (value: number): Reg => ({ type: RegType.Immediate, index: value });
const TRUE = imm(1);

class Emitter {
  readonly instructions: Instruction[] = [];
  private tmps = 0;

  constructor(private readonly regs: ReadonlyMap<string, Reg>) {}

  private emit(op: Opcode, res: Reg, left: Reg, right: Reg): void {
    this.instructions.push({ op, res, left, right });
  }

  /** `res ← right`, repeating the target as the left operand like portus. */
  private bind(op: typeof Opcode.Bind | typeof Opcode.Def, res: Reg, right: Reg): void {
    this.emit(op, res, res, right);
  }

  def(v: DeclaredVar): void {
    this.bind(Opcode.Def, this.reg(v.name), imm(v.init));
  }

  condition(e: Expr): void {
    this.startExpression();
    const flag = implicit(Implicit.EventFlag);
    const r = this.value(e, flag);
    if (r !== flag) this.bind(Opcode.Bind, flag, r);
    this.endExpression(e.pos);
  }

  statement(e: Expr): void {
    this.startExpression();
    if (e.type === 'command') {
      this.bind(Opcode.Bind, implicit(e.command === 'report' ? Implicit.ShouldReport : Implicit.ShouldContinue), TRUE);
    } else if (e.type === 'binary' && e.op === ':=' && e.left.type === 'name') {
      const target = this.reg(e.left.name);
      const rhs = e.right;
      if (rhs.type === 'binary' && STATEFUL.has(rhs.op)) {
        this.value(rhs, target);
      } else {
        this.bind(Opcode.Bind, target, this.value(rhs));
      }
    } else {
      this.value(e);
    }
    this.endExpression(e.pos);
  }

  /** Emits `e` and returns the register holding its value (`dest` if given and `e` is an operator). */
  private value(e: Expr, dest?: Reg): Reg {
    switch (e.type) {
      case 'literal':
        return imm(e.literal.kind === 'bool' ? (e.literal.value ? 1 : 0) : e.literal.value);
      case 'name':
        return this.reg(e.name);
      case 'binary': {
        const left = this.value(e.left);
        const right = this.value(e.right);
        const res = dest ?? { type: RegType.Tmp, index: this.tmps++ };
        this.emit(OPCODES[e.op], res, left, right);
        return res;
      }
      case 'command':
        // The checker allows commands only as statements.
        throw new TypeError(`unchecked program: ${e.command} used as a value`);
    }
  }

  private reg(name: string): Reg {
    const r = this.regs.get(name);
    // The checker resolved every name; a miss here is a bug, not bad input.
    if (r === undefined) throw new TypeError(`unchecked program: no register for '${name}'`);
    return r;
  }

  private startExpression(): void {
    this.tmps = 0;
  }

  private endExpression(pos: SourcePos): void {
    if (this.tmps > Limits.maxTmpRegisters) {
      throw new LimitError(
        `expression at ${pos.line}:${pos.column} needs ${this.tmps} tmp registers, but libccp has ${Limits.maxTmpRegisters} (Limits.maxTmpRegisters): split it into assignments to locals`,
      );
    }
  }
}

/** Emits the instructions of a checked program. Throws `LimitError`. */
export function emit(p: CheckedProgram, regs: ReadonlyMap<string, Reg>): CompiledProgramInfo {
  const events: EventSpec[] = [];
  if (p.ast.events.length > Limits.maxEvents) {
    throw new LimitError(`program has ${p.ast.events.length} when clauses, but libccp allows at most ${Limits.maxEvents} (Limits.maxEvents)`);
  }
  const out = new Emitter(regs);
  const declared = [...p.reports, ...p.controls].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const v of declared) out.def(v);
  for (const ev of p.ast.events) {
    const flagIdx = out.instructions.length;
    out.condition(ev.condition);
    const bodyIdx = out.instructions.length;
    for (const stmt of ev.body) out.statement(stmt);
    events.push({ flagIdx, numFlag: bodyIdx - flagIdx, bodyIdx, numBody: out.instructions.length - bodyIdx });
  }
  if (out.instructions.length >= Limits.maxInstructions) {
    throw new LimitError(
      `program compiles to ${out.instructions.length} instructions, but libccp runs fewer than ${Limits.maxInstructions} (Limits.maxInstructions): simplify it`,
    );
  }
  const variable = (v: DeclaredVar): ProgramVariable => ({
    name: v.name,
    valueType: v.type,
    volatile: v.volatile,
    init: v.init,
    reg: regs.get(v.name)!,
  });
  return {
    events,
    instructions: out.instructions,
    reports: p.reports.map(variable),
    controls: p.controls.map(variable),
    warnings: p.warnings,
  };
}

/** Parses, checks and compiles an already-parsed program. */
export function compileAst(ast: ProgramAst): CompiledProgramInfo {
  const checked = check(ast);
  return emit(checked, allocateRegisters(checked));
}

/**
 * Compiles datapath-program source. Throws `ParseError` or `CheckError` (with
 * line:column) for an invalid program and `LimitError` for one libccp cannot hold.
 */
export function compile(source: string): CompiledProgramInfo {
  return compileAst(parse(source));
}
