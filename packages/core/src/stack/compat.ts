import type { Capability } from '../capability.js';
import type { Choice, VariantOffer } from './variants.js';

/** Which Chunnels of one side declared a capability type, and the labels they offer together. */
export interface CapabilitySide {
  readonly labels: readonly string[];
  /** `name@position` of each Chunnel declaring the type (position 0 = application side). */
  readonly chunnels: readonly string[];
}

/** Why two variants cannot talk: one capability type they disagree on. */
export interface Incompatibility {
  readonly type: string;
  readonly kind: Capability['kind'] | 'mixed';
  readonly local: CapabilitySide;
  readonly remote: CapabilitySide;
  readonly universe?: readonly string[];
  /** One sentence naming the Chunnels, positions and labels. */
  readonly reason: string;
}

interface Gathered {
  kinds: Set<Capability['kind']>;
  labels: Set<string>;
  universe: Set<string>;
  chunnels: string[];
}

function gather(v: VariantOffer): Map<string, Gathered> {
  const byType = new Map<string, Gathered>();
  v.chunnels.forEach((c, position) => {
    for (const cap of c.capabilities) {
      let g = byType.get(cap.type);
      if (!g) byType.set(cap.type, (g = { kinds: new Set(), labels: new Set(), universe: new Set(), chunnels: [] }));
      g.kinds.add(cap.kind);
      cap.labels.forEach((l) => g.labels.add(l));
      if (cap.kind === 'one-sided') cap.universe.forEach((l) => g.universe.add(l));
      g.chunnels.push(`${c.name}@${position}`);
    }
  });
  return byType;
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => a.size === b.size && [...a].every((x) => b.has(x));
const fmt = (side: CapabilitySide): string =>
  side.chunnels.length === 0 ? 'nothing' : `${side.chunnels.join(', ')} {${side.labels.join(', ')}}`;

/**
 * Compares two variants capability type by capability type, over the whole
 * stack (positions need not line up). Chunnels without capabilities are
 * ignored. Returns what does not match; empty means compatible.
 */
export function incompatibilities(local: VariantOffer, remote: VariantOffer): Incompatibility[] {
  const l = gather(local);
  const r = gather(remote);
  const empty: Gathered = { kinds: new Set(), labels: new Set(), universe: new Set(), chunnels: [] };
  const out: Incompatibility[] = [];
  for (const type of new Set([...l.keys(), ...r.keys()])) {
    const a = l.get(type) ?? empty;
    const b = r.get(type) ?? empty;
    const kinds = new Set([...a.kinds, ...b.kinds]);
    const localSide = { labels: sorted(a.labels), chunnels: a.chunnels };
    const remoteSide = { labels: sorted(b.labels), chunnels: b.chunnels };
    const base = { type, local: localSide, remote: remoteSide };
    if (kinds.size > 1) {
      out.push({ ...base, kind: 'mixed', reason: `capability '${type}' is two-sided on one end and one-sided on the other: local ${fmt(localSide)}, remote ${fmt(remoteSide)}` });
    } else if (kinds.has('two-sided')) {
      if (!sameSet(a.labels, b.labels)) {
        out.push({ ...base, kind: 'two-sided', reason: `'${type}' must match exactly: local ${fmt(localSide)}, remote ${fmt(remoteSide)}` });
      }
    } else {
      const universe = new Set([...a.universe, ...b.universe]);
      const missing = [...universe].filter((x) => !a.labels.has(x) && !b.labels.has(x));
      if (missing.length > 0 || (a.universe.size > 0 && b.universe.size > 0 && !sameSet(a.universe, b.universe))) {
        out.push({
          ...base,
          kind: 'one-sided',
          universe: sorted(universe),
          reason: `'${type}' must be covered by both ends together, {${sorted(universe).join(', ')}} is not: missing {${missing.join(', ')}}; local ${fmt(localSide)}, remote ${fmt(remoteSide)}`,
        });
      }
    }
  }
  return out;
}

/** How one `select` was decided, for `Negotiated` explanations. */
export interface SelectDecision {
  readonly side: 'server' | 'client';
  readonly select: number;
  readonly taken: string;
  readonly rejected: string;
  readonly preferred: boolean;
  readonly reason: string;
}

export interface Pick {
  /** Index into the server's variants. */
  readonly server: number;
  /** Index into the client's variants. */
  readonly client: number;
  readonly decisions: readonly SelectDecision[];
}

export type PickOutcome =
  | { readonly ok: true; readonly pick: Pick }
  | { readonly ok: false; readonly server: number; readonly client: number; readonly incompatibilities: readonly Incompatibility[] };

interface Pair {
  s: number;
  c: number;
}

const choiceOf = (v: VariantOffer, select: number): Choice | undefined => v.choices.find((ch) => ch.select === select);
const selectIds = (vs: readonly VariantOffer[]): number[] =>
  [...new Set(vs.flatMap((v) => v.choices.map((c) => c.select)))].sort((a, b) => a - b);
const honoured = (v: VariantOffer): number => v.choices.filter((c) => c.preferred).length;

/**
 * The server's pick: among compatible (server, client) variant pairs, each
 * server select (in order) takes its preferred branch if any pair survives
 * with it; then the client variant honouring most client preferences wins;
 * ties go to the earliest variants. Deterministic, so both ends can run it.
 * With no compatible pair, returns the closest pair's incompatibilities.
 */
export function pickVariants(server: readonly VariantOffer[], client: readonly VariantOffer[]): PickOutcome {
  const all: Array<Pair & { why: Incompatibility[] }> = [];
  for (let s = 0; s < server.length; s++) {
    for (let c = 0; c < client.length; c++) {
      all.push({ s, c, why: incompatibilities(server[s] as VariantOffer, client[c] as VariantOffer) });
    }
  }
  let pairs: Pair[] = all.filter((p) => p.why.length === 0);
  if (pairs.length === 0) {
    const closest = all.reduce((best, p) => (p.why.length < best.why.length ? p : best), all[0] as (typeof all)[number]);
    return { ok: false, server: closest.s, client: closest.c, incompatibilities: closest.why };
  }
  for (const id of selectIds(server)) {
    const withPreferred = pairs.filter((p) => choiceOf(server[p.s] as VariantOffer, id)?.preferred !== false);
    if (withPreferred.some((p) => choiceOf(server[p.s] as VariantOffer, id) !== undefined)) pairs = withPreferred;
  }
  const best = Math.max(...pairs.map((p) => honoured(client[p.c] as VariantOffer)));
  const chosen = pairs.find((p) => honoured(client[p.c] as VariantOffer) === best) as Pair;

  const decisions: SelectDecision[] = [];
  const explain = (side: 'server' | 'client', offers: readonly VariantOffer[], idx: number): void => {
    for (const ch of (offers[idx] as VariantOffer).choices) {
      const taken = ch.options[ch.branch];
      const rejected = ch.options[1 - ch.branch] as string;
      let reason = 'preferred branch, compatible with the peer';
      if (!ch.preferred) {
        const otherSide = (p: (typeof all)[number]): VariantOffer => (side === 'server' ? server[p.s] : client[p.c]) as VariantOffer;
        const tries = all.filter((p) => choiceOf(otherSide(p), ch.select)?.preferred === true);
        const blocked = tries.find((p) => p.why.length > 0 && tries.every((q) => q.why.length > 0));
        reason = blocked
          ? `preferred branch '${rejected}' is incompatible: ${(blocked.why[0] as Incompatibility).reason}`
          : side === 'client'
            ? `preferred branch '${rejected}' is compatible, but the server's preferences took precedence`
            : `preferred branch '${rejected}' is compatible only with choices that an earlier select's preference excluded`;
      }
      decisions.push({ side, select: ch.select, taken, rejected, preferred: ch.preferred, reason });
    }
  };
  explain('server', server, chosen.s);
  explain('client', client, chosen.c);
  return { ok: true, pick: { server: chosen.s, client: chosen.c, decisions } };
}
