import type { AnyChunnel, Chunnel } from '../chunnel.js';

export type Preference = 'first' | 'second';

/**
 * Two alternatives for one position of a stack. Negotiation replaces it
 * with one branch. Both branches carry the same Inner/Outer types.
 */
export class Select<Inner, Outer, A extends StackElem = StackElem, B extends StackElem = StackElem> {
  readonly kind = 'select' as const;
  readonly first: A;
  readonly second: B;
  readonly prefer: Preference;
  /** Type-only: the connection types of this position (never set at run time). */
  declare readonly __types?: (inner: Inner) => Outer;

  constructor(first: A, second: B, prefer: Preference) {
    this.first = first;
    this.second = second;
    this.prefer = prefer;
  }

  get name(): string {
    return `select(${elemName(this.first)}|${elemName(this.second)})`;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the widest Select, for constraints only
export type AnySelect = Select<any, any, any, any>;

/** One position of a stack: a Chunnel, or a `select` of alternatives. */
export type StackElem = AnyChunnel | AnySelect;

export function isSelect(e: StackElem): e is AnySelect {
  return e instanceof Select;
}

export function elemName(e: StackElem): string {
  return e.name;
}

export type ElemInner<E> =
  E extends Select<infer I, infer _O, infer _A, infer _B> ? I : E extends Chunnel<infer I, infer _O, infer _N> ? I : never;
export type ElemOuter<E> =
  E extends Select<infer _I, infer O, infer _A, infer _B> ? O : E extends Chunnel<infer _I, infer O, infer _N> ? O : never;
export type ElemName<E> = 0 extends 1 & E
  ? string
  : E extends Select<infer _I, infer _O, infer A, infer B>
    ? `select(${ElemName<A>}|${ElemName<B>})`
    : E extends { readonly name: infer N extends string }
      ? N
      : never;
