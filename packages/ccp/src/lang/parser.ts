/**
 * Recursive-descent parser for datapath programs (grammar in the package
 * README). Produces a `ProgramAst`; every syntax problem is a `ParseError`
 * carrying the line and column of the offending token.
 */
import { ParseError, type SourcePos } from '../errors.js';
import { Limits } from '../program.js';
import type { BinaryExpr, BinaryOp, Decl, Expr, LiteralExpr, ProgramAst, WhenClause } from './ast.js';
import { tokenize, type Token } from './lexer.js';

/** Every spelling of every operator, mapped to its canonical form. */
export const OPERATORS: ReadonlyMap<string, BinaryOp> = new Map<string, BinaryOp>([
  ['+', '+'],
  ['add', '+'],
  ['-', '-'],
  ['sub', '-'],
  ['*', '*'],
  ['mul', '*'],
  ['/', '/'],
  ['div', '/'],
  ['==', '=='],
  ['eq', '=='],
  ['>', '>'],
  ['gt', '>'],
  ['<', '<'],
  ['lt', '<'],
  ['max', 'max'],
  ['min', 'min'],
  ['wrapped_max', 'wrapped_max'],
  ['&&', '&&'],
  ['and', '&&'],
  ['||', '||'],
  ['or', '||'],
  [':=', ':='],
  ['bind', ':='],
  ['if', 'if'],
  ['!if', '!if'],
  ['ewma', 'ewma'],
]);

const KEYWORDS = new Set(['true', 'false', 'def', 'when', 'volatile', 'report', 'fallthrough', 'reset', 'Report']);

/**
 * Expressions nest no deeper than this. Any deeper expression would need more
 * than `Limits.maxTmpRegisters` tmps anyway; the bound keeps hostile input
 * from exhausting the stack.
 */
export const MAX_NESTING = 32;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$/;
const DIGITS_RE = /^[0-9]+$/;

const show = (t: Token): string => (t.kind === 'eof' ? 'end of program' : `'${t.text}'`);

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(source: string) {
    this.tokens = tokenize(source);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  /** Consumes the `)` that closes the list opened at `open`. */
  private expectClose(open: SourcePos, what: string): void {
    const t = this.next();
    if (t.kind === 'close') return;
    if (t.kind === 'eof') throw new ParseError(`the '(' of this ${what} is never closed: add ')'`, open);
    throw new ParseError(`expected ')' to close the ${what} opened at ${open.line}:${open.column}, found ${show(t)}`, t.pos);
  }

  parseProgram(): ProgramAst {
    const decls = this.parseDefs();
    const events: WhenClause[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.kind !== 'open') throw new ParseError(`expected '(when …)', found ${show(t)}`, t.pos);
      events.push(this.parseWhen());
    }
    if (events.length === 0) {
      throw new ParseError('a program needs at least one (when condition body…) clause after (def …)', this.peek().pos);
    }
    return { decls, events };
  }

  private parseDefs(): Decl[] {
    const open = this.next();
    const kw = this.peek();
    if (open.kind !== 'open' || kw.kind !== 'word' || kw.text !== 'def') {
      throw new ParseError(`a program starts with (def …) declaring its variables (it may be empty: (def)), found ${show(open)}`, open.pos);
    }
    this.next();
    const decls: Decl[] = [];
    let sawReportBlock = false;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'close') {
        this.next();
        return decls;
      }
      if (t.kind !== 'open') {
        if (t.kind === 'eof') throw new ParseError("the '(' of this (def …) is never closed: add ')'", open.pos);
        throw new ParseError(`expected a declaration '(name value)' or ')' in (def …), found ${show(t)}`, t.pos);
      }
      const head = this.peek(1);
      if (head.kind === 'word' && head.text === 'Report') {
        if (sawReportBlock) throw new ParseError('only one (Report …) block is allowed in (def …): merge them', t.pos);
        sawReportBlock = true;
        decls.push(...this.parseReportBlock());
      } else {
        decls.push(this.parseDecl(false));
      }
    }
  }

  private parseReportBlock(): Decl[] {
    const open = this.next();
    this.next(); // 'Report'
    const decls: Decl[] = [];
    while (this.peek().kind === 'open') decls.push(this.parseDecl(true));
    if (decls.length === 0) throw new ParseError('a (Report …) block needs at least one declaration (name value)', open.pos);
    this.expectClose(open.pos, '(Report …) block');
    return decls;
  }

  private parseDecl(inReportBlock: boolean): Decl {
    const open = this.next();
    let volatile = false;
    let nameTok = this.next();
    if (nameTok.kind === 'word' && nameTok.text === 'volatile') {
      volatile = true;
      nameTok = this.next();
    }
    if (nameTok.kind !== 'word') {
      throw new ParseError(`expected a variable name in declaration '([volatile] name value)', found ${show(nameTok)}`, nameTok.pos);
    }
    const shortName = this.checkName(nameTok);
    if (inReportBlock && shortName.startsWith('Report.')) {
      throw new ParseError(`write '${shortName.slice(7)}' inside the (Report …) block: the 'Report.' prefix is added for you`, nameTok.pos);
    }
    const valueTok = this.next();
    const init = valueTok.kind === 'word' ? this.literal(valueTok) : undefined;
    if (init === undefined) {
      throw new ParseError(
        `expected the initial value of '${shortName}' (a number, true, false or +infinity), found ${show(valueTok)}`,
        valueTok.pos,
      );
    }
    this.expectClose(open.pos, 'declaration');
    return {
      name: inReportBlock ? `Report.${shortName}` : shortName,
      volatile,
      init,
      inReportBlock,
      pos: open.pos,
      namePos: nameTok.pos,
    };
  }

  private parseWhen(): WhenClause {
    const open = this.next();
    const kw = this.next();
    if (kw.kind !== 'word' || kw.text !== 'when') {
      const hint = kw.kind === 'word' && kw.text === 'def' ? ': (def …) may appear only once, first' : '';
      throw new ParseError(`expected 'when' after '(' at top level, found ${show(kw)}${hint}`, kw.pos);
    }
    const condition = this.parseExpr(1);
    const body: Expr[] = [];
    while (this.peek().kind !== 'close' && this.peek().kind !== 'eof') body.push(this.parseExpr(1));
    if (body.length === 0) {
      throw new ParseError('a (when condition body…) clause needs at least one body expression after its condition', open.pos);
    }
    this.expectClose(open.pos, '(when …) clause');
    return { condition, body, pos: open.pos };
  }

  private parseExpr(depth: number): Expr {
    const t = this.next();
    if (t.kind === 'word') {
      if (OPERATORS.has(t.text)) {
        throw new ParseError(`operator '${t.text}' must come right after '(': write (${t.text} a b)`, t.pos);
      }
      return this.literal(t) ?? { type: 'name', name: this.checkName(t), pos: t.pos };
    }
    if (t.kind === 'close') throw new ParseError("unexpected ')': expected an expression", t.pos);
    if (t.kind === 'eof') throw new ParseError('unexpected end of program: expected an expression', t.pos);
    if (depth > MAX_NESTING) {
      throw new ParseError(`expression nested deeper than ${MAX_NESTING} levels: split it into assignments to locals`, t.pos);
    }
    const head = this.next();
    if (head.kind !== 'word') {
      throw new ParseError(`expected an operator, (report) or (fallthrough) after '(', found ${show(head)}`, head.pos);
    }
    if (head.text === 'report' || head.text === 'fallthrough') {
      if (this.peek().kind !== 'close') throw new ParseError(`(${head.text}) takes no arguments`, this.peek().pos);
      this.next();
      return { type: 'command', command: head.text, pos: t.pos };
    }
    if (head.text === 'reset') {
      throw new ParseError('(reset) is an old form and is not supported: write (:= Micros 0) to restart the timer', t.pos);
    }
    const op = OPERATORS.get(head.text);
    if (op === undefined) {
      const hint = head.text === 'when' || head.text === 'def' ? `: (${head.text} …) is only allowed at top level` : '';
      throw new ParseError(`unknown operator '${head.text}'${hint}`, head.pos);
    }
    const left = this.parseExpr(depth + 1);
    const right = this.parseExpr(depth + 1);
    const close = this.peek();
    if (close.kind === 'word' || close.kind === 'open') {
      throw new ParseError(`operator '${head.text}' takes exactly two operands; nest operators to combine more`, close.pos);
    }
    this.expectClose(t.pos, `(${head.text} …) expression`);
    const expr: BinaryExpr = { type: 'binary', op, opText: head.text, left, right, pos: t.pos };
    return expr;
  }

  /** The literal this word spells, or undefined if it is not a literal. */
  private literal(t: Token): LiteralExpr | undefined {
    const { text, pos } = t;
    if (text === 'true' || text === 'false') return { type: 'literal', literal: { kind: 'bool', value: text === 'true' }, text, pos };
    if (text === '+infinity') return { type: 'literal', literal: { kind: 'num', value: Limits.infinity }, text, pos };
    if (!DIGITS_RE.test(text)) return undefined;
    const value = Number(text);
    if (!(value <= Limits.infinity)) {
      throw new ParseError(
        `number ${text} does not fit the 32-bit immediate of the wire format (max ${Limits.infinity}): use +infinity or a smaller value`,
        pos,
      );
    }
    return { type: 'literal', literal: { kind: 'num', value }, text, pos };
  }

  private checkName(t: Token): string {
    const { text, pos } = t;
    if (KEYWORDS.has(text) || OPERATORS.has(text)) throw new ParseError(`'${text}' is a reserved word and cannot be used as a variable name`, pos);
    if (!NAME_RE.test(text)) {
      throw new ParseError(`'${text}' is not a valid name: use letters, digits and '_', with '.' between parts, not starting with a digit`, pos);
    }
    if (text.startsWith('__')) throw new ParseError(`names starting with '__' are reserved: rename '${text}'`, pos);
    return text;
  }
}

/** Parses datapath-program source into a syntax tree. Throws `ParseError`. */
export function parse(source: string): ProgramAst {
  return new Parser(source).parseProgram();
}
