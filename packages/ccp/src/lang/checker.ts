/**
 * Semantic checks on a parsed program: names, mutability, Num/Bool types and
 * the placement of `if`/`!if`/`ewma`. Produces the program's variables in
 * register order for the allocator. Every problem is a `CheckError` with the
 * position of the offending expression; doubtful-but-legal code gets a warning.
 */
import { CheckError, type SourcePos } from '../errors.js';
import { Implicit, PRIMITIVES } from '../program.js';
import type { BinaryExpr, BinaryOp, Decl, Expr, LiteralExpr, ProgramAst } from './ast.js';
import { looksLike, suggest } from './names.js';

export type ValueType = 'num' | 'bool';

/** A `def` variable: reported (`Report.*`) or a control the agent may set. */
export interface DeclaredVar {
  readonly kind: 'report' | 'control';
  /** Full name (`Report.acked`, `gain`). */
  readonly name: string;
  readonly type: ValueType;
  readonly volatile: boolean;
  /** Initial (DEF) value; Bools are 1/0. */
  readonly init: number;
  readonly pos: SourcePos;
}

/** A local: any other name assigned in a body; typed by its first assignment. */
export interface LocalVar {
  readonly kind: 'local';
  readonly name: string;
  readonly type: ValueType;
  readonly pos: SourcePos;
}

export interface PrimitiveVar {
  readonly kind: 'primitive';
  readonly name: string;
  readonly type: ValueType;
  /** Wire index (position in `PRIMITIVES`). */
  readonly index: number;
}

export interface ImplicitVar {
  readonly kind: 'implicit';
  readonly name: 'Micros' | 'Cwnd' | 'Rate';
  readonly type: 'num';
  readonly index: Implicit;
}

export type Variable = DeclaredVar | LocalVar | PrimitiveVar | ImplicitVar;

export type WarningCode = 'possible-typo' | 'unused-result' | 'division-by-zero';

export interface CompileWarning {
  readonly code: WarningCode;
  readonly message: string;
  readonly pos: SourcePos;
}

export interface CheckedProgram {
  readonly ast: ProgramAst;
  /** Every name the program may use, resolved. */
  readonly scope: ReadonlyMap<string, Variable>;
  /** Report variables in register order: the Report block, then `Report.*` declared outside it. */
  readonly reports: readonly DeclaredVar[];
  /** Control variables in declaration order. */
  readonly controls: readonly DeclaredVar[];
  /** Locals in order of first assignment. */
  readonly locals: readonly LocalVar[];
  readonly warnings: readonly CompileWarning[];
}

/** Primitives that hold a Bool; all others are Nums. */
const BOOL_PRIMITIVES: ReadonlySet<string> = new Set(['Flow.was_timeout']);

const IMPLICITS: readonly ImplicitVar[] = [
  { kind: 'implicit', name: 'Micros', type: 'num', index: Implicit.Micros },
  { kind: 'implicit', name: 'Cwnd', type: 'num', index: Implicit.Cwnd },
  { kind: 'implicit', name: 'Rate', type: 'num', index: Implicit.Rate },
];

/** EWMA computes `(a·old + (10−a)·new)/10`: a weight above 10 underflows in the datapath. */
const EWMA_DENOMINATOR = 10;

const COMPARISON: ReadonlySet<BinaryOp> = new Set(['==', '>', '<']);
const LOGICAL: ReadonlySet<BinaryOp> = new Set(['&&', '||']);
/** Operators that write their assignment target directly (read-modify-write or conditional). */
export const STATEFUL: ReadonlySet<BinaryOp> = new Set(['if', '!if', 'ewma']);

const typeName = (t: ValueType): string => (t === 'num' ? 'Num' : 'Bool');

/** A short rendering of an expression for messages. */
function describe(e: Expr): string {
  switch (e.type) {
    case 'literal':
      return e.text;
    case 'name':
      return e.name;
    case 'command':
      return `(${e.command})`;
    case 'binary':
      return `(${e.opText} …)`;
  }
}

const literalValue = (l: LiteralExpr): number => (l.literal.kind === 'bool' ? (l.literal.value ? 1 : 0) : l.literal.value);

class Checker {
  private readonly scope = new Map<string, Variable>();
  private readonly locals: LocalVar[] = [];
  private readonly warnings: CompileWarning[] = [];
  /** All `def` variables in declaration order, and the same split by register file. */
  private readonly declared: DeclaredVar[] = [];
  private readonly blockReports: DeclaredVar[] = [];
  private readonly otherReports: DeclaredVar[] = [];
  private readonly controls: DeclaredVar[] = [];

  constructor(private readonly ast: ProgramAst) {
    PRIMITIVES.forEach((name, index) => {
      this.scope.set(name, { kind: 'primitive', name, index, type: BOOL_PRIMITIVES.has(name) ? 'bool' : 'num' });
    });
    for (const v of IMPLICITS) this.scope.set(v.name, v);
  }

  run(): CheckedProgram {
    for (const d of this.ast.decls) this.declare(d);
    for (const ev of this.ast.events) {
      const t = this.valueType(ev.condition);
      if (t !== 'bool') {
        throw new CheckError(
          `a when condition must be Bool, but ${describe(ev.condition)} is ${typeName(t)}: compare it, e.g. (> … 0)`,
          ev.condition.pos,
        );
      }
      for (const stmt of ev.body) this.statement(stmt);
    }
    return {
      ast: this.ast,
      scope: this.scope,
      reports: [...this.blockReports, ...this.otherReports],
      controls: this.controls,
      locals: this.locals,
      warnings: this.warnings,
    };
  }

  private declare(d: Decl): void {
    const existing = this.scope.get(d.name);
    if (existing !== undefined) {
      const why =
        existing.kind === 'report' || existing.kind === 'control'
          ? `is declared twice (first at ${existing.pos.line}:${existing.pos.column}): remove one`
          : `is a built-in ${existing.kind === 'primitive' ? 'primitive' : 'variable'} and cannot be declared: rename it`;
      throw new CheckError(`'${d.name}' ${why}`, d.namePos);
    }
    const isReport = d.name.startsWith('Report.');
    if (!isReport && /^(Ack|Flow)\./.test(d.name)) {
      throw new CheckError(`'${d.name}': the Ack. and Flow. prefixes are reserved for primitives; rename the variable`, d.namePos);
    }
    const v: DeclaredVar = {
      kind: isReport ? 'report' : 'control',
      name: d.name,
      type: d.init.literal.kind,
      volatile: d.volatile,
      init: literalValue(d.init),
      pos: d.namePos,
    };
    this.scope.set(d.name, v);
    this.declared.push(v);
    (!isReport ? this.controls : d.inReportBlock ? this.blockReports : this.otherReports).push(v);
  }

  private statement(e: Expr): void {
    if (e.type === 'command') return;
    if (e.type === 'binary' && e.op === ':=') {
      this.assignment(e);
      return;
    }
    this.valueType(e);
    this.warn('unused-result', `the value of ${describe(e)} is computed and dropped: assign it with (:= name …)`, e.pos);
  }

  private assignment(e: BinaryExpr): void {
    const target = e.left;
    if (target.type !== 'name') {
      throw new CheckError(`can only assign to a variable, not to ${describe(target)}`, target.pos);
    }
    const existing = this.scope.get(target.name);
    if (existing?.kind === 'primitive') {
      throw new CheckError(`cannot assign to '${target.name}': primitives are read-only signals of the datapath`, target.pos);
    }
    if (existing === undefined) this.rejectReservedTarget(target.name, target.pos);

    const rhs = e.right;
    if (rhs.type === 'binary' && STATEFUL.has(rhs.op)) {
      if (existing?.kind !== 'report' && existing?.kind !== 'control') {
        const what = existing === undefined ? 'a new local' : existing.kind === 'local' ? 'a local' : 'a built-in variable';
        throw new CheckError(
          `'${rhs.opText}' is allowed only as the direct right side of an assignment to a Report or control variable, and '${target.name}' is ${what}`,
          rhs.pos,
        );
      }
      this.statefulValue(rhs, existing);
      return;
    }
    const t = this.valueType(rhs);
    if (existing === undefined) {
      this.newLocal(target.name, t, target.pos);
    } else if (existing.type !== t) {
      throw new CheckError(`cannot assign ${describe(rhs)} (${typeName(t)}) to '${target.name}' (${typeName(existing.type)})`, rhs.pos);
    }
  }

  /** Checks `(if c v)`, `(!if c v)` or `(ewma a v)` assigned to `target`. */
  private statefulValue(e: BinaryExpr, target: DeclaredVar): void {
    if (e.op === 'ewma') {
      this.expectType(e, e.left, 'num');
      if (e.left.type === 'literal' && e.left.literal.kind === 'num' && e.left.literal.value > EWMA_DENOMINATOR) {
        throw new CheckError(`ewma weight ${e.left.text} is above ${EWMA_DENOMINATOR}: it is the old value's share in tenths (0…10)`, e.left.pos);
      }
      this.expectType(e, e.right, 'num');
      if (target.type !== 'num') throw new CheckError(`ewma yields a Num, but '${target.name}' is Bool`, e.pos);
      return;
    }
    this.expectType(e, e.left, 'bool');
    const t = this.valueType(e.right);
    if (t !== target.type) {
      throw new CheckError(`cannot assign ${describe(e.right)} (${typeName(t)}) to '${target.name}' (${typeName(target.type)})`, e.right.pos);
    }
  }

  private valueType(e: Expr): ValueType {
    switch (e.type) {
      case 'literal':
        return e.literal.kind;
      case 'name':
        return this.read(e.name, e.pos).type;
      case 'command':
        throw new CheckError(`${describe(e)} is a statement: use it directly in a when body, not as a value`, e.pos);
      case 'binary':
        return this.binaryType(e);
    }
  }

  private binaryType(e: BinaryExpr): ValueType {
    if (e.op === ':=') {
      throw new CheckError('an assignment (:= …) is a statement: use it directly in a when body, not inside an expression or condition', e.pos);
    }
    if (STATEFUL.has(e.op)) {
      throw new CheckError(
        `'${e.opText}' is allowed only as the direct right side of an assignment to a Report or control variable, e.g. (:= Report.x (${e.opText} … …))`,
        e.pos,
      );
    }
    if (LOGICAL.has(e.op)) {
      this.expectType(e, e.left, 'bool');
      this.expectType(e, e.right, 'bool');
      return 'bool';
    }
    this.expectType(e, e.left, 'num');
    this.expectType(e, e.right, 'num');
    if (e.op === '/' && e.right.type === 'literal' && e.right.literal.kind === 'num' && e.right.literal.value === 0) {
      this.warn('division-by-zero', 'division by the literal 0 always faults in the datapath (the invocation is aborted)', e.right.pos);
    }
    // What is left: arithmetic (Num × Num → Num) and comparisons (Num × Num → Bool).
    return COMPARISON.has(e.op) ? 'bool' : 'num';
  }

  private expectType(parent: BinaryExpr, operand: Expr, want: ValueType): void {
    const got = this.valueType(operand);
    if (got !== want) {
      throw new CheckError(`'${parent.opText}' takes ${typeName(want)} operands, but ${describe(operand)} is ${typeName(got)}`, operand.pos);
    }
  }

  private read(name: string, pos: SourcePos): Variable {
    const v = this.scope.get(name);
    if (v !== undefined) return v;
    const hint = suggest(name, this.scope.keys());
    const local = name.startsWith('Report.') || /^(Ack|Flow)\./.test(name) ? '' : ' (a local must be assigned before it is read)';
    throw new CheckError(`unknown name '${name}'${hint === undefined ? '' : `: did you mean '${hint}'?`}${local}`, pos);
  }

  /** Names a new local may not take: undeclared `Report.*` and unknown primitives. */
  private rejectReservedTarget(name: string, pos: SourcePos): void {
    const hint = suggest(name, this.scope.keys());
    const dym = hint === undefined ? '' : ` Did you mean '${hint}'?`;
    if (name.startsWith('Report.')) {
      throw new CheckError(`'${name}' is not declared: add (${name.slice(7)} initial-value) to the (Report …) block.${dym}`, pos);
    }
    if (/^(Ack|Flow)\./.test(name)) throw new CheckError(`unknown primitive '${name}'.${dym}`, pos);
  }

  private newLocal(name: string, type: ValueType, pos: SourcePos): void {
    const meant = this.typoTarget(name);
    if (meant !== undefined) {
      this.warn('possible-typo', `'${name}' is a new local variable; did you mean '${meant}'?`, pos);
    }
    const v: LocalVar = { kind: 'local', name, type, pos };
    this.scope.set(name, v);
    this.locals.push(v);
  }

  private typoTarget(name: string): string | undefined {
    for (const d of this.declared) {
      if (looksLike(name, d.name) || (d.kind === 'report' && looksLike(name, d.name.slice(7)))) return d.name;
    }
    return IMPLICITS.find((v) => looksLike(name, v.name))?.name;
  }

  private warn(code: WarningCode, message: string, pos: SourcePos): void {
    this.warnings.push({ code, message, pos });
  }
}

/** Checks a parsed program. Throws `CheckError`. */
export function check(ast: ProgramAst): CheckedProgram {
  return new Checker(ast).run();
}
