/**
 * Syntax tree of a datapath program, as the parser produces it. Every node
 * keeps the position of its first character so later stages can point at it.
 */
import type { SourcePos } from '../errors.js';

/** Operators after normalising word forms (`add` → `+`, `bind` → `:=` …). */
export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '=='
  | '>'
  | '<'
  | 'max'
  | 'min'
  | 'wrapped_max'
  | '&&'
  | '||'
  | ':='
  | 'if'
  | '!if'
  | 'ewma';

/** A literal value: Bool, or a Num that fits the 32-bit immediate of the wire format. */
export type Literal =
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'num'; readonly value: number };

export interface LiteralExpr {
  readonly type: 'literal';
  readonly literal: Literal;
  /** The literal as written (`+infinity`, `true`, `42`), for messages. */
  readonly text: string;
  readonly pos: SourcePos;
}

export interface NameExpr {
  readonly type: 'name';
  readonly name: string;
  readonly pos: SourcePos;
}

export interface BinaryExpr {
  readonly type: 'binary';
  readonly op: BinaryOp;
  /** The operator as written (`add`, `+`), for messages. */
  readonly opText: string;
  readonly left: Expr;
  readonly right: Expr;
  /** Position of the opening parenthesis. */
  readonly pos: SourcePos;
}

/** `(report)` or `(fallthrough)`. */
export interface CommandExpr {
  readonly type: 'command';
  readonly command: 'report' | 'fallthrough';
  readonly pos: SourcePos;
}

export type Expr = LiteralExpr | NameExpr | BinaryExpr | CommandExpr;

/** One `(name literal)` in `def`, with the `Report.` prefix applied for Report-block entries. */
export interface Decl {
  /** Full name: `Report.acked` for report variables, `gain` for controls. */
  readonly name: string;
  readonly volatile: boolean;
  readonly init: LiteralExpr;
  /** True if declared in the `(Report …)` block. */
  readonly inReportBlock: boolean;
  readonly pos: SourcePos;
  /** Position of the name token. */
  readonly namePos: SourcePos;
}

export interface WhenClause {
  readonly condition: Expr;
  readonly body: readonly Expr[];
  readonly pos: SourcePos;
}

export interface ProgramAst {
  /** Declarations in source order. */
  readonly decls: readonly Decl[];
  readonly events: readonly WhenClause[];
}
