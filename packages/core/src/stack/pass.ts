/**
 * Optimization passes: plain values that rewrite stacks by Chunnel name.
 * `subst(['*', 'tls', 'maybe-local', '*'], fused)` replaces the first run of
 * `tls` directly above `maybe-local` with `fused`. `'*'` may stand first
 * and/or last (any number of positions); without it the pattern is anchored
 * at that end. A stack that does not match is returned unchanged, and the
 * result's type is the rewritten stack.
 */
import type { AnyChunnel } from '../chunnel.js';
import { InvalidArgumentError, StackError } from '../errors.js';
import type { ElemInner, ElemName, ElemOuter, StackElem } from './elements.js';
import { Stack } from './stack.js';
import type { Equals, ShowType, StackFits } from './typecheck.js';

export type Wildcard = '*';

export interface Pass<P extends readonly string[] = readonly string[], R extends AnyChunnel = AnyChunnel> {
  readonly pattern: P;
  /** Builds the replacement from the Chunnels it replaces (so it can keep their configuration). */
  readonly replace: (matched: readonly AnyChunnel[]) => R;
}

export function subst<const P extends readonly [string, ...string[]], R extends AnyChunnel>(
  pattern: P,
  replacement: R | ((matched: readonly AnyChunnel[]) => R),
): Pass<P, R> {
  const core = pattern.filter((n, i) => !(n === '*' && (i === 0 || i === pattern.length - 1)));
  if (core.length === 0 || core.includes('*')) {
    throw new InvalidArgumentError(`subst pattern [${pattern.join(', ')}] needs at least one name, and '*' only first or last`);
  }
  return { pattern, replace: typeof replacement === 'function' ? replacement : () => replacement };
}

// ---- type level ------------------------------------------------------------

type Core<P extends readonly string[]> = P extends readonly ['*', ...infer R extends string[]]
  ? Core<R>
  : P extends readonly [...infer R extends string[], '*']
    ? Core<R>
    : P;
type Anchored<P extends readonly string[]> = { start: P extends readonly ['*', ...string[]] ? false : true; end: P extends readonly [...string[], '*'] ? false : true };

type MatchHere<Es extends readonly unknown[], C extends readonly string[]> = C extends readonly [infer N, ...infer CR extends string[]]
  ? Es extends readonly [infer H, ...infer T]
    ? Equals<ElemName<H>, N> extends true
      ? MatchHere<T, CR>
      : false
    : false
  : { rest: Es };

type Taken<Es extends readonly unknown[], C extends readonly string[], Acc extends unknown[] = []> = C extends readonly [string, ...infer CR extends string[]]
  ? Es extends readonly [infer H, ...infer T]
    ? Taken<T, CR, [...Acc, H]>
    : Acc
  : Acc;

type RewriteFrom<Es extends readonly unknown[], C extends readonly string[], R, A extends { start: boolean; end: boolean }> =
  MatchHere<Es, C> extends { rest: infer Rest extends readonly unknown[] }
    ? A['end'] extends true
      ? Rest extends readonly []
        ? [R]
        : NoMatch
      : [R, ...Rest]
    : A['start'] extends true
      ? NoMatch
      : Es extends readonly [infer H, ...infer T]
        ? RewriteFrom<T, C, R, A> extends infer X extends unknown[]
          ? [H, ...X]
          : NoMatch
        : NoMatch;
interface NoMatch {
  readonly __noMatch: true;
}

/** The positions a pass would replace (empty when it does not match). */
type Matched<Es extends readonly unknown[], C extends readonly string[], A extends { start: boolean; end: boolean }> =
  MatchHere<Es, C> extends { rest: infer Rest extends readonly unknown[] }
    ? A['end'] extends true
      ? Rest extends readonly []
        ? Taken<Es, C>
        : []
      : Taken<Es, C>
    : A['start'] extends true
      ? []
      : Es extends readonly [unknown, ...infer T]
        ? Matched<T, C, A>
        : [];

/** The element tuple after applying pass `P → R` (unchanged when it does not match). */
export type Rewrite<Es extends readonly unknown[], P extends readonly string[], R> =
  RewriteFrom<Es, Core<P>, R, Anchored<P>> extends infer X extends unknown[] ? readonly [...X] : Es;

type AsElems<T> = T extends readonly StackElem[] ? T : never;

/** A pass whose replacement does not fit where it goes (a string literal type: `tsc` prints it at the pass argument). */
export type PassMismatch<Replacement extends string, Needs, Offers, Provides, Expected> =
  `bertha: pass replacement '${Replacement}' does not fit where it goes: it takes ${ShowType<Needs>} and offers ${ShowType<Offers>}, the Chunnels it replaces take ${ShowType<Provides>} and offer ${ShowType<Expected>}`;

type FirstOf<T extends readonly unknown[]> = T extends readonly [infer H, ...unknown[]] ? H : never;
type LastOf<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : never;

/** The pass itself when its replacement fits the Chunnels it replaces in `Es`, else a `PassMismatch`. */
export type CheckPass<Es extends readonly unknown[], Ps extends Pass> =
  Ps extends Pass<infer P, infer R>
    ? Matched<Es, Core<P>, Anchored<P>> extends infer M extends readonly unknown[]
      ? M extends readonly []
        ? Ps
        : Equals<ElemOuter<FirstOf<M>>, ElemOuter<R>> extends true
          ? Equals<ElemInner<LastOf<M>>, ElemInner<R>> extends true
            ? StackFits<Rewrite<Es, P, R>> extends true
              ? Ps
              : PassMismatch<ElemName<R>, ElemInner<R>, ElemOuter<R>, ElemInner<LastOf<M>>, ElemOuter<FirstOf<M>>>
            : PassMismatch<ElemName<R>, ElemInner<R>, ElemOuter<R>, ElemInner<LastOf<M>>, ElemOuter<FirstOf<M>>>
          : PassMismatch<ElemName<R>, ElemInner<R>, ElemOuter<R>, ElemInner<LastOf<M>>, ElemOuter<FirstOf<M>>>
      : never
    : never;

// ---- run time --------------------------------------------------------------

/** Rewrites a list of positions; shared by `applyPass` and by negotiation on picked stacks. */
export function rewriteElems(elems: readonly StackElem[], pass: Pass): StackElem[] {
  const p = pass.pattern;
  const start = p[0] !== '*';
  const end = p[p.length - 1] !== '*';
  const core = p.filter((n, i) => !(n === '*' && (i === 0 || i === p.length - 1)));
  const last = elems.length - core.length;
  // Anchored at the end, only the last window can match; anchored at the start, only the first.
  const from = end ? last : 0;
  const to = start ? Math.min(0, last) : last;
  for (let i = from; i <= to; i++) {
    if (core.every((name, k) => elems[i + k]?.name === name)) {
      const matched = elems.slice(i, i + core.length) as AnyChunnel[];
      const replacement = pass.replace(matched);
      if (typeof replacement?.connectWrap !== 'function') {
        throw new StackError(`pass [${p.join(', ')}] produced something that is not a Chunnel`);
      }
      return [...elems.slice(0, i), replacement, ...elems.slice(i + core.length)];
    }
  }
  return [...elems];
}

/**
 * Applies a pass to a stack. The result's type is the rewritten stack; a
 * replacement whose types do not fit is a compile error at the pass argument.
 */
export function applyPass<const Es extends readonly StackElem[], Ps extends Pass>(
  stack: Stack<Es>,
  pass: CheckPass<Es, Ps>,
): Ps extends Pass<infer P, infer R> ? Stack<AsElems<Rewrite<Es, P, R>>> : never {
  type Out = Ps extends Pass<infer P, infer R> ? Stack<AsElems<Rewrite<Es, P, R>>> : never;
  return new Stack(rewriteElems(stack.elems, pass as unknown as Pass)) as unknown as Out;
}
