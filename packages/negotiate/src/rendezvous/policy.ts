/**
 * Rendezvous policies: which branch of each `select` to run, as a function of
 * the number of live participants. `join` re-evaluates the policy whenever
 * that number changes (up and down) and proposes a transition when the
 * answer differs from the stack running now.
 */
import { InvalidArgumentError, type VariantOffer } from '@bertha/core';

/**
 * One select's branch: `'first'` / `'second'` by position, or a branch's name
 * as the stack shows it (`'ordered'`, or `'select(a|b)'` for a nested select).
 */
export type Branch = 'first' | 'second' | (string & {});

/**
 * Branches to run. One `Branch` applies to every select: a name to the
 * selects that offer it (at least one must), `'first'`/`'second'` to all.
 * An array gives a branch per select, indexed as `variants()` numbers them
 * (depth-first, left to right); `undefined` leaves a select to its own
 * `prefer`.
 */
export type Preferences = Branch | readonly (Branch | undefined)[];

/** Maps the number of live participants to the branches to run; `undefined` means the stack's own preferences. */
export type Policy = (participants: number) => Preferences | undefined;

export interface NumPeersAtMostOptions {
  /** Branches while at most `n` participants are live. */
  readonly then: Preferences;
  /** Branches from `n + 1` participants on. */
  readonly otherwise: Preferences;
}

/**
 * `then` while at most `n` participants are live, `otherwise` above that.
 * The pub/sub example: `numPeersAtMost(2, { then: 'ordered', otherwise: 'service-ordering' })`
 * runs receiver-side ordering while one publisher and one receiver are live.
 */
export function numPeersAtMost(n: number, options: NumPeersAtMostOptions): Policy {
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`numPeersAtMost: n must be a positive integer, got ${n}`);
  const { then, otherwise } = options;
  return (participants) => (participants <= n ? then : otherwise);
}

const honoured = (v: VariantOffer): number => v.choices.filter((c) => c.preferred).length;

/**
 * The index of the variant `prefs` asks for: among the variants whose
 * choices satisfy every preference, the one honouring most of the stack's
 * own preferences (the earliest on ties). Throws `InvalidArgumentError` for
 * preferences this stack cannot satisfy.
 */
export function chooseVariant(offers: readonly VariantOffer[], prefs: Preferences | undefined): number {
  const wanted = constraints(offers, prefs);
  let best = -1;
  offers.forEach((v, i) => {
    const fits =
      v.choices.every((c) => wanted.get(c.select)?.(c.branch, c.options) !== false) &&
      // A branch named inside a nested select needs the outer selects to reach it.
      [...wanted].every(([id, want]) => !want.required || v.choices.some((c) => c.select === id));
    if (fits && (best < 0 || honoured(v) > honoured(offers[best] as VariantOffer))) best = i;
  });
  if (best < 0) throw new InvalidArgumentError(`no variant of the stack takes the branches ${JSON.stringify(prefs)}: they exclude each other`);
  return best;
}

/** The test a variant's choice for one select must pass; `required`: the variant must contain that select. */
type Want = ((branch: 0 | 1, options: readonly [string, string]) => boolean) & { required: boolean };

function byBranch(b: Branch, required: boolean): Want {
  const test =
    b === 'first'
      ? (branch: 0 | 1) => branch === 0
      : b === 'second'
        ? (branch: 0 | 1) => branch === 1
        : (branch: 0 | 1, options: readonly [string, string]) => options[branch] === b;
  return Object.assign(test, { required });
}

/** Per select id, the test a variant's choice must pass. */
function constraints(offers: readonly VariantOffer[], prefs: Preferences | undefined): Map<number, Want> {
  const selects = new Map<number, readonly [string, string]>();
  for (const v of offers) for (const c of v.choices) selects.set(c.select, c.options);
  const out = new Map<number, Want>();
  if (prefs === undefined) return out;
  const offered = (b: Branch, options: readonly [string, string]) => b === 'first' || b === 'second' || options.includes(b);
  const names = [...selects.values()].map((o) => `${o[0]}|${o[1]}`).join(', ') || 'none';
  if (typeof prefs === 'string') {
    for (const [id, options] of selects) if (offered(prefs, options)) out.set(id, byBranch(prefs, prefs !== 'first' && prefs !== 'second'));
    if (out.size === 0 && selects.size > 0) {
      throw new InvalidArgumentError(`no select of the stack offers a branch named '${prefs}' (selects: ${names}): use a branch's name or 'first'/'second'`);
    }
    return out;
  }
  if (!Array.isArray(prefs)) throw new InvalidArgumentError('preferences must be a branch or an array of branches, one per select');
  prefs.forEach((b: Branch | undefined, id: number) => {
    if (b === undefined) return;
    const options = selects.get(id);
    if (options === undefined) throw new InvalidArgumentError(`preference ${id} names select ${id}, but the stack has ${selects.size} selects (${names})`);
    if (!offered(b, options)) throw new InvalidArgumentError(`select ${id} (${options[0]}|${options[1]}) has no branch named '${b}'`);
    out.set(id, byBranch(b, true));
  });
  return out;
}
