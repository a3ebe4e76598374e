/**
 * Seeded random datapath programs for fuzzing the compiler and the runtime.
 *
 * - `generateProgram` builds programs from the grammar that are valid by
 *   construction: well-typed, every name declared or assigned before it is
 *   read, `if`/`!if`/`ewma` only where allowed, and within libccp's limits
 *   (at most 5 events of at most 5 statements, at most 6 operators per
 *   expression plus one for a computed ewma weight, so fewer than 256
 *   instructions and at most 7 tmps).
 * - `mutateProgram` damages a program at the character or word level.
 * - `randomSource` produces token soup and raw character noise.
 *
 * Everything is driven by an `Rng` from `createRng(seed)`, so any case is
 * reproduced by its seed.
 */

import { mulberry32 } from '@bertha/core';
import { PRIMITIVES } from '../../src/program.js';

/** A PRNG returning floats in [0, 1). */
export type Rng = () => number;

/** Seeded, so a fuzz failure reproduces from its seed. */
export const createRng: (seed: number) => Rng = mulberry32;

export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const chance = (rng: Rng, p: number): boolean => rng() < p;

type Ty = 'num' | 'bool';
interface Var {
  readonly name: string;
  readonly type: Ty;
  /** Declared in def (Report/control): may be the target of if/!if/ewma. */
  readonly declared: boolean;
  readonly writable: boolean;
}

export interface GeneratorOptions {
  /** Most `when` clauses (≤ 5 keeps every program under libccp's instruction limit). */
  readonly maxEvents?: number;
  readonly maxStatements?: number;
  /** Most operators in one expression (≤ 6 keeps within 8 tmps). */
  readonly maxOps?: number;
}

const NUM_PRIMITIVES = PRIMITIVES.filter((p) => p !== 'Flow.was_timeout');

const NUM_OPS: Record<string, readonly string[]> = {
  '+': ['+', 'add'],
  '-': ['-', 'sub'],
  '*': ['*', 'mul'],
  '/': ['/', 'div'],
  max: ['max'],
  min: ['min'],
  wrapped_max: ['wrapped_max'],
};
const CMP_OPS: Record<string, readonly string[]> = { '==': ['==', 'eq'], '>': ['>', 'gt'], '<': ['<', 'lt'] };
const BOOL_OPS: Record<string, readonly string[]> = { '&&': ['&&', 'and'], '||': ['||', 'or'] };
const spellings = (table: Record<string, readonly string[]>): ReadonlyArray<readonly string[]> => Object.values(table);
const NUM_SPELLINGS = spellings(NUM_OPS);
const CMP_SPELLINGS = spellings(CMP_OPS);
const BOOL_SPELLINGS = spellings(BOOL_OPS);
const spell = (rng: Rng, table: ReadonlyArray<readonly string[]>): string => pick(rng, pick(rng, table));

class ProgramBuilder {
  private readonly byType: Record<Ty, Var[]> = { num: [], bool: [] };
  private readonly writable: Var[] = [];
  private locals = 0;
  private readonly out: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly opts: Required<GeneratorOptions>,
  ) {
    for (const name of NUM_PRIMITIVES) this.add({ name, type: 'num', declared: false, writable: false });
    this.add({ name: 'Flow.was_timeout', type: 'bool', declared: false, writable: false });
    for (const name of ['Micros', 'Cwnd', 'Rate']) this.add({ name, type: 'num', declared: false, writable: true });
  }

  private add(v: Var): void {
    this.byType[v.type].push(v);
    if (v.writable) this.writable.push(v);
  }

  /** Separator between tokens: spaces, newlines, sometimes a comment. */
  private sp(): string {
    const r = this.rng();
    if (r < 0.75) return ' ';
    if (r < 0.9) return '\n  ';
    if (r < 0.95) return '\t';
    return ` # ${pick(this.rng, ['note', '(unbalanced', 'when (report)', ')) weird', ''])}\n`;
  }

  private literal(type: Ty): string {
    if (type === 'bool') return chance(this.rng, 0.5) ? 'true' : 'false';
    const r = this.rng();
    if (r < 0.6) return String(int(this.rng, 0, 100));
    if (r < 0.8) return String(int(this.rng, 0, 0xffff_ffff));
    if (r < 0.9) return '+infinity';
    return String(int(this.rng, 0, 1_000_000));
  }

  private expr(type: Ty, ops: number): string {
    const { rng } = this;
    if (ops === 0 || chance(rng, 0.3)) {
      const vars = this.byType[type];
      return vars.length > 0 && chance(rng, 0.7) ? pick(rng, vars).name : this.literal(type);
    }
    const leftOps = int(rng, 0, ops - 1);
    const rightOps = ops - 1 - leftOps;
    if (type === 'num') return `(${spell(rng, NUM_SPELLINGS)}${this.sp()}${this.expr('num', leftOps)}${this.sp()}${this.expr('num', rightOps)})`;
    if (chance(rng, 0.5)) return `(${spell(rng, CMP_SPELLINGS)}${this.sp()}${this.expr('num', leftOps)}${this.sp()}${this.expr('num', rightOps)})`;
    return `(${spell(rng, BOOL_SPELLINGS)}${this.sp()}${this.expr('bool', leftOps)}${this.sp()}${this.expr('bool', rightOps)})`;
  }

  private ops(): number {
    return int(this.rng, 0, this.opts.maxOps);
  }

  private statement(): string {
    const { rng } = this;
    const r = rng();
    if (r < 0.1) return '(report)';
    if (r < 0.18) return '(fallthrough)';
    if (r < 0.2) return this.expr(pick(rng, ['num', 'bool'] as const), this.ops());
    if (r < 0.3 && this.locals < 8) {
      // A new local: its value is generated before the name exists.
      const type = pick(rng, ['num', 'bool'] as const);
      const value = this.expr(type, this.ops());
      const name = `l${this.locals++}`;
      this.add({ name, type, declared: false, writable: true });
      return `(${pick(rng, [':=', 'bind'])}${this.sp()}${name}${this.sp()}${value})`;
    }
    const target = pick(rng, this.writable);
    const assign = `(${pick(rng, [':=', 'bind'])}${this.sp()}${target.name}${this.sp()}`;
    if (target.declared && chance(rng, 0.35)) {
      // Stateful forms write their target directly: their operands use the whole tmp budget.
      const ops = this.ops();
      const leftOps = int(rng, 0, ops);
      if (target.type === 'num' && chance(rng, 0.4)) {
        // A literal weight must be 0…10; a computed one is clamped so the checker cannot see a literal above 10.
        const weight = chance(rng, 0.7) ? String(int(rng, 0, 10)) : `(min 10 ${this.expr('num', Math.max(leftOps - 1, 0))})`;
        return `${assign}(ewma${this.sp()}${weight}${this.sp()}${this.expr('num', ops - leftOps)}))`;
      }
      return `${assign}(${pick(rng, ['if', '!if'])}${this.sp()}${this.expr('bool', leftOps)}${this.sp()}${this.expr(target.type, ops - leftOps)}))`;
    }
    return `${assign}${this.expr(target.type, this.ops())})`;
  }

  private decl(name: string, volatile: boolean, type: Ty): string {
    return `(${volatile ? `volatile${this.sp()}` : ''}${name}${this.sp()}${this.literal(type)})`;
  }

  build(): string {
    const { rng } = this;
    const reports: string[] = [];
    const controls: string[] = [];
    const nReports = int(rng, 0, 4);
    for (let i = 0; i < nReports; i++) {
      const type = chance(rng, 0.25) ? 'bool' : 'num';
      const full = chance(rng, 0.2);
      const name = `${pick(rng, ['r', 'rtt_', 'acked', 'x'])}${i}`;
      this.add({ name: `Report.${name}`, type, declared: true, writable: true });
      (full ? controls : reports).push(this.decl(full ? `Report.${name}` : name, chance(rng, 0.5), type));
    }
    const nControls = int(rng, 0, 3);
    for (let i = 0; i < nControls; i++) {
      const type = chance(rng, 0.25) ? 'bool' : 'num';
      const name = `${pick(rng, ['c', 'gain', 'target.', 'k_'])}${pick(rng, ['', 'v'])}${i}`.replace(/\.(?=\d|$)/, '.n');
      this.add({ name, type, declared: true, writable: true });
      controls.push(this.decl(name, chance(rng, 0.3), type));
    }
    const defParts = [...controls];
    if (reports.length > 0) defParts.splice(int(rng, 0, defParts.length), 0, `(Report${this.sp()}${reports.join(this.sp())})`);
    this.out.push(`(def${defParts.map((d) => this.sp() + d).join('')})`);

    const nEvents = int(rng, 1, this.opts.maxEvents);
    for (let e = 0; e < nEvents; e++) {
      const cond = chance(rng, 0.2) ? this.literal('bool') : this.expr('bool', this.ops());
      const body: string[] = [];
      const nStmts = int(rng, 1, this.opts.maxStatements);
      for (let s = 0; s < nStmts; s++) body.push(this.statement());
      this.out.push(`(when${this.sp()}${cond}${body.map((b) => this.sp() + b).join('')})`);
    }
    return this.out.join(chance(rng, 0.5) ? '\n' : this.sp());
  }
}

/** A random program that compiles without errors. */
export function generateProgram(rng: Rng, options: GeneratorOptions = {}): string {
  return new ProgramBuilder(rng, { maxEvents: 5, maxStatements: 5, maxOps: 6, ...options }).build();
}

/** Words that are likely to hit interesting paths when spliced into a program. */
export const VOCABULARY: readonly string[] = [
  '(', ')', '(def', '(when', '(Report', 'volatile', 'true', 'false', '+infinity', '0', '11', '4294967295', '4294967296',
  '99999999999999999999', '+', '-', '*', '/', '==', '>', '<', 'max', 'min', 'wrapped_max', '&&', '||', ':=', 'if', '!if',
  'ewma', 'add', 'bind', '(report)', '(fallthrough)', '(reset)', 'Report.x', 'Report.', 'Micros', 'Cwnd', 'Rate',
  'Ack.bytes_acked', 'Flow.was_timeout', 'Ack.bogus', '__x', '1abc', 'a..b', 'x', 'when', 'def', 'Report', '#', '\n',
];

const NOISE = '()#+-*/<>=!:&|._ \n\tabcxyzRAF0129';

/** `source` with one to three random edits. */
export function mutateProgram(rng: Rng, source: string): string {
  let s = source;
  const edits = int(rng, 1, 3);
  for (let k = 0; k < edits; k++) {
    const at = int(rng, 0, s.length);
    const r = rng();
    if (r < 0.25) {
      s = s.slice(0, at) + s.slice(Math.min(s.length, at + int(rng, 1, 8)));
    } else if (r < 0.45) {
      s = s.slice(0, at) + NOISE[int(rng, 0, NOISE.length - 1)]! + s.slice(at);
    } else if (r < 0.7) {
      s = `${s.slice(0, at)} ${pick(rng, VOCABULARY)} ${s.slice(at)}`;
    } else if (r < 0.85) {
      const words = s.split(/(\s+|[()])/);
      const i = int(rng, 0, words.length - 1);
      words[i] = pick(rng, VOCABULARY);
      s = words.join('');
    } else if (r < 0.95) {
      const from = int(rng, 0, s.length);
      s = s.slice(0, at) + s.slice(from, from + int(rng, 1, 40)) + s.slice(at);
    } else {
      s = s.slice(0, at);
    }
  }
  return s;
}

/** Token soup from `VOCABULARY`, raw characters (including non-ASCII), or very deep nesting. */
export function randomSource(rng: Rng): string {
  const r = rng();
  if (r < 0.5) {
    const n = int(rng, 0, 60);
    return Array.from({ length: n }, () => pick(rng, VOCABULARY)).join(pick(rng, [' ', '', '\n']));
  }
  if (r < 0.9) {
    const n = int(rng, 0, 200);
    return Array.from({ length: n }, () => (chance(rng, 0.8) ? NOISE[int(rng, 0, NOISE.length - 1)]! : String.fromCharCode(int(rng, 0, 0xffff)))).join('');
  }
  const depth = int(rng, 20, 400);
  const op = pick(rng, ['(+ 1 ', '(', '(when ', '(:= x ']);
  return `(def) (when true ${op.repeat(depth)}1${')'.repeat(int(rng, 0, depth + 2))})`;
}
