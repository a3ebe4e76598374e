import type { Capability } from '../capability.js';
import type { AnyChunnel } from '../chunnel.js';
import { StackError } from '../errors.js';
import { isSelect, type StackElem } from './elements.js';
import type { Stack } from './stack.js';

/** Beyond this many variants an offer is too large to send and to check pairwise. */
export const MAX_VARIANTS = 1024;

/** The branch one `select` took in a variant. */
export interface Choice {
  /** The select's index: depth-first, left to right, outer before inner. */
  readonly select: number;
  readonly branch: 0 | 1;
  /** True when this is the branch the select prefers. */
  readonly preferred: boolean;
  /** Names of both branches, for explanations. */
  readonly options: readonly [string, string];
}

/** One concrete stack a `select`-ful stack can become. */
export interface Variant {
  readonly chunnels: readonly AnyChunnel[];
  readonly choices: readonly Choice[];
}

/** What one Chunnel of a variant tells the peer: its name and capabilities. */
export interface ChunnelOffer {
  readonly name: string;
  readonly capabilities: readonly Capability[];
}

/** The serializable description of a variant that negotiation exchanges. */
export interface VariantOffer {
  readonly chunnels: readonly ChunnelOffer[];
  readonly choices: readonly Choice[];
}

interface Partial {
  chunnels: AnyChunnel[];
  choices: Choice[];
}

/**
 * Every variant of a stack, in a stable order: the first variant takes the
 * first branch of every select. Selects are numbered over the whole tree, so
 * a select keeps its number in every variant.
 */
export function variants(stack: Stack): Variant[] {
  let next = 0;
  const ids = new Map<StackElem, number>();
  const number = (e: StackElem): void => {
    if (!isSelect(e)) return;
    ids.set(e, next++);
    number(e.first as StackElem);
    number(e.second as StackElem);
  };
  stack.elems.forEach(number);

  const expand = (e: StackElem): Partial[] => {
    if (!isSelect(e)) return [{ chunnels: [e], choices: [] }];
    const id = ids.get(e) as number;
    const branches: readonly [StackElem, StackElem] = [e.first, e.second];
    const options = [branches[0].name, branches[1].name] as const;
    const out: Partial[] = [];
    for (const branch of [0, 1] as const) {
      const choice: Choice = { select: id, branch, preferred: (branch === 0) === (e.prefer === 'first'), options };
      for (const p of expand(branches[branch])) {
        out.push({ chunnels: p.chunnels, choices: [choice, ...p.choices] });
      }
    }
    return out;
  };

  let acc: Partial[] = [{ chunnels: [], choices: [] }];
  for (const e of stack.elems) {
    const opts = expand(e);
    if (acc.length * opts.length > MAX_VARIANTS) {
      throw new StackError(`stack ${stack.toString()} has more than ${MAX_VARIANTS} variants: use fewer selects`);
    }
    acc = acc.flatMap((a) => opts.map((o) => ({ chunnels: [...a.chunnels, ...o.chunnels], choices: [...a.choices, ...o.choices] })));
  }
  return acc;
}

export function describeVariant(v: Variant): VariantOffer {
  return { chunnels: v.chunnels.map((c) => ({ name: c.name, capabilities: c.capabilities() })), choices: v.choices };
}

/** The offers of every variant of a stack, as negotiation sends them. */
export function describeStack(stack: Stack): VariantOffer[] {
  return variants(stack).map(describeVariant);
}
