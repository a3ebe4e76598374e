/**
 * Capabilities: what a Chunnel option declares so that negotiation can tell
 * whether two endpoints' stacks can talk to each other.
 *
 * - two-sided: both ends must run the same function (encryption, a queue's
 *   ordering semantics). Compatible when the type matches and the label sets
 *   are equal.
 * - one-sided: either end may supply the function (client- or server-side
 *   sharding). The type declares a universe of labels; compatible when the
 *   union of both ends' labels covers it.
 */
export interface TwoSidedCapability {
  readonly kind: 'two-sided';
  readonly type: string;
  readonly labels: readonly string[];
}

export interface OneSidedCapability {
  readonly kind: 'one-sided';
  readonly type: string;
  readonly labels: readonly string[];
  readonly universe: readonly string[];
}

export type Capability = TwoSidedCapability | OneSidedCapability;

export function twoSided(type: string, ...labels: string[]): TwoSidedCapability {
  return { kind: 'two-sided', type, labels: [...new Set(labels)].sort() };
}

export function oneSided(type: string, universe: readonly string[], ...labels: string[]): OneSidedCapability {
  return { kind: 'one-sided', type, universe: [...new Set(universe)].sort(), labels: [...new Set(labels)].sort() };
}
