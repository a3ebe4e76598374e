/**
 * Compile-time checks for stacks. A stack whose adjacent positions do not
 * fit is reported at the offending argument, naming both Chunnels and both
 * connection types (after tRPC's branded type errors).
 */
import type { ElemInner, ElemName, ElemOuter } from './elements.js';

/** Exact type equality: connections are invariant in their message type. */
export type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export interface StackMismatch<Upper extends string, Lower extends string, UpperNeeds, LowerProvides> {
  readonly 'bertha error': `'${Upper}' cannot sit on '${Lower}': '${Upper}' needs a Conn of upperNeeds below it, '${Lower}' offers a Conn of lowerProvides`;
  readonly upperNeeds: UpperNeeds;
  readonly lowerProvides: LowerProvides;
}

export interface SelectMismatch<First extends string, Second extends string, FirstInner, FirstOuter, SecondInner, SecondOuter> {
  readonly 'bertha error': `select('${First}', '${Second}'): both branches must have the same Inner and Outer types`;
  readonly firstInner: FirstInner;
  readonly firstOuter: FirstOuter;
  readonly secondInner: SecondInner;
  readonly secondOuter: SecondOuter;
}

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
