import { InvalidArgumentError } from '../errors.js';
import { Select, elemName, type ElemInner, type ElemOuter, type Preference, type StackElem } from './elements.js';
import type { CheckSelect, CheckStack, First, Last } from './typecheck.js';

/**
 * A stack of Chunnels, application side first. `Elems` is the tuple of its
 * positions, so the stack's type says exactly what it is made of; passes
 * rewrite that type.
 */
export class Stack<Elems extends readonly StackElem[] = readonly StackElem[]> {
  readonly elems: Elems;

  constructor(elems: Elems) {
    if (elems.length === 0) throw new InvalidArgumentError('a stack needs at least one Chunnel');
    this.elems = elems;
  }

  /** Position names, application side first (selects as `select(a|b)`). */
  get names(): string[] {
    return this.elems.map(elemName);
  }

  toString(): string {
    return `[${this.names.join(', ')}]`;
  }
}

/** What the application sends and receives on a connection built from this stack. */
export type StackTop<S> = S extends Stack<infer Es> ? ElemOuter<First<Es>> : never;
/** What the base connection under this stack must carry. */
export type StackBottom<S> = S extends Stack<infer Es> ? ElemInner<Last<Es>> : never;

/**
 * Builds a stack from Chunnels (and `select`s), application side first.
 * Each position's Inner type must equal the Outer type of the position below
 * it; otherwise `tsc` reports an error at the offending argument naming both
 * Chunnels and both types.
 */
export function makeStack<const Es extends readonly [StackElem, ...StackElem[]]>(...elems: CheckStack<Es>): Stack<Es> {
  return new Stack(elems as unknown as Es);
}

export interface SelectOptions {
  /** Which branch negotiation should take when both are possible. Default `'first'`. */
  readonly prefer?: Preference;
}

/**
 * Offers two alternatives for one position; negotiation picks one. Both must
 * have the same Inner and Outer types. Selects nest: `select(select(a, b), c)`.
 */
export function select<A extends StackElem, B extends StackElem>(
  first: A,
  second: CheckSelect<A, B>,
  opts: SelectOptions = {},
): Select<ElemInner<A>, ElemOuter<A>, A, B> {
  const prefer = opts.prefer ?? 'first';
  if (prefer !== 'first' && prefer !== 'second') {
    throw new InvalidArgumentError(`select: prefer must be 'first' or 'second', got ${String(prefer)}`);
  }
  return new Select(first, second as B, prefer);
}
