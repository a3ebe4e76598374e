/**
 * Compile-time checks for stacks. A stack whose adjacent positions do not
 * fit is reported at the offending argument, naming both Chunnels and both
 * connection types. As in tRPC, the parameter's type at that argument *is*
 * the message: a string literal type, so `tsc` prints the sentence itself
 * ("Argument of type 'Chunnel<…>' is not assignable to parameter of type
 * '"bertha: 'base64' cannot sit on 'reliable': …"'").
 */
import type { ElemInner, ElemName, ElemOuter } from './elements.js';

/** Exact type equality: connections are invariant in their message type. */
export type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// ---- printing types into messages -----------------------------------------

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type LastOfUnion<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer R ? R : never;
type JoinUnion<U extends string, Sep extends string> = [U] extends [never]
  ? ''
  : LastOfUnion<U> extends infer L extends string
    ? [Exclude<U, L>] extends [never]
      ? L
      : `${JoinUnion<Exclude<U, L>, Sep>}${Sep}${L}`
    : never;
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;
/** Depth budget for nested object types; deeper ones print as `{ … }`. */
type Depth = [never, 0, 1, 2];

/**
 * A type written out as a string for error messages: primitives, literals,
 * `Uint8Array`, arrays, unions and plain objects (two levels deep).
 */
export type ShowType<T, D extends number = 3> = [T] extends [never]
  ? 'never'
  : 0 extends 1 & T
    ? 'any'
    : unknown extends T
      ? 'unknown'
      : [T] extends [boolean]
        ? boolean extends T
          ? 'boolean'
          : `${T & boolean}`
        : true extends IsUnion<T>
          ? JoinUnion<T extends unknown ? ShowType<T, D> : never, ' | '>
          : ShowOne<T, D>;
type ShowOne<T, D extends number> = T extends string
  ? string extends T
    ? 'string'
    : `"${T}"`
  : T extends number
    ? number extends T
      ? 'number'
      : `${T}`
    : T extends bigint
      ? 'bigint'
      : T extends symbol
        ? 'symbol'
        : T extends undefined
          ? 'undefined'
          : T extends null
            ? 'null'
            : T extends Uint8Array
              ? 'Uint8Array'
              : T extends readonly (infer E)[]
                ? `${ShowType<E, D>}[]`
                : T extends (...args: never[]) => unknown
                  ? 'function'
                  : D extends 0
                    ? '{ … }'
                    : `{ ${JoinUnion<{ [K in keyof T & string]-?: `${K}: ${ShowType<T[K], Depth[D]>}` }[keyof T & string], '; '>} }`;

// ---- the messages ----------------------------------------------------------

/** Adjacent positions that do not fit: the upper one needs a Conn of another type than the lower one offers. */
export type StackMismatch<Upper extends string, Lower extends string, UpperNeeds, LowerProvides> =
  `bertha: '${Upper}' cannot sit on '${Lower}': '${Upper}' needs a Conn of ${ShowType<UpperNeeds>} below it, '${Lower}' offers a Conn of ${ShowType<LowerProvides>}`;

/** `select` branches of different shapes. */
export type SelectMismatch<First extends string, Second extends string, FirstInner, FirstOuter, SecondInner, SecondOuter> =
  `bertha: select('${First}', '${Second}'): both branches must have the same Inner and Outer types; '${First}' takes ${ShowType<FirstInner>} and offers ${ShowType<FirstOuter>}, '${Second}' takes ${ShowType<SecondInner>} and offers ${ShowType<SecondOuter>}`;

type Prev<N extends number, Acc extends unknown[] = []> = [...Acc, unknown]['length'] extends N
  ? Acc['length']
  : Prev<N, [...Acc, unknown]>;

type CheckAt<Es extends readonly unknown[], N extends number> =
  Equals<ElemInner<Es[Prev<N>]>, ElemOuter<Es[N]>> extends true
    ? Es[N]
    : StackMismatch<ElemName<Es[Prev<N>]>, ElemName<Es[N]>, ElemInner<Es[Prev<N>]>, ElemOuter<Es[N]>>;

/** Maps each position to itself when it fits the one above it, else to a `StackMismatch`. */
export type CheckStack<Es extends readonly unknown[]> = {
  [K in keyof Es]: K extends `${infer N extends number}` ? (N extends 0 ? Es[K] : CheckAt<Es, N>) : Es[K];
};

/** True when every adjacent pair fits. */
export type StackFits<Es extends readonly unknown[]> = Es extends readonly [infer A, infer B, ...infer Rest]
  ? Equals<ElemInner<A>, ElemOuter<B>> extends true
    ? StackFits<[B, ...Rest]>
    : false
  : true;

export type CheckSelect<A, B> =
  Equals<ElemInner<A>, ElemInner<B>> extends true
    ? Equals<ElemOuter<A>, ElemOuter<B>> extends true
      ? B
      : SelectMismatch<ElemName<A>, ElemName<B>, ElemInner<A>, ElemOuter<A>, ElemInner<B>, ElemOuter<B>>
    : SelectMismatch<ElemName<A>, ElemName<B>, ElemInner<A>, ElemOuter<A>, ElemInner<B>, ElemOuter<B>>;

export type First<Es extends readonly unknown[]> = Es extends readonly [infer H, ...unknown[]] ? H : never;
export type Last<Es extends readonly unknown[]> = Es extends readonly [...unknown[], infer L] ? L : never;

/** True when some position is a `select`. */
export type HasSelect<Es extends readonly unknown[]> = Es extends readonly [infer H, ...infer T]
  ? H extends { readonly kind: 'select' }
    ? true
    : HasSelect<T>
  : false;
