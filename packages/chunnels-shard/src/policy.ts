import { InvalidArgumentError, oneSided, type Capability, type Transport } from '@bertha/core';

/**
 * Who the shards are and how a key picks one. Both ends build it; its text
 * (`policyLabel`) is what negotiation compares, so a client and a server
 * whose policies differ in any part cannot pick client-side sharding.
 */
export interface ShardPolicy<A> {
  /** How clients and the sharder reach the shards (datagram transports: UDP, mem). */
  readonly transport: Transport<A>;
  /** Shard addresses, in shard order: key → shard index → address. */
  readonly shards: readonly A[];
  /** The message field whose first 4 bytes choose the shard. */
  readonly keyField: string;
}

/** The shard function, as named in capabilities. */
export const SHARD_FUNCTION = 'fnv1a64(first 4 key bytes)';
/** Capability type of sharding: one-sided, supplied by the client (client-side) or the server (server-side). */
export const SHARDING_CAPABILITY = 'sharding';

export function checkPolicy<A>(p: ShardPolicy<A>): void {
  if (p.shards.length < 1 || p.shards.length > 0x10000) throw new InvalidArgumentError(`a shard policy needs 1 to 65,536 shards, got ${p.shards.length}`);
  if (typeof p.keyField !== 'string' || p.keyField.length === 0) throw new InvalidArgumentError('a shard policy needs a keyField');
}

/** The policy in one line: function, key field, shard count and every address. */
export function policyLabel<A>(p: ShardPolicy<A>): string {
  return `${SHARD_FUNCTION} of '${p.keyField}' mod ${p.shards.length} → [${p.shards.map((a) => p.transport.format(a)).join(', ')}]`;
}

/** Sharding done by this end under `p`. */
export function suppliesSharding<A>(p: ShardPolicy<A>): Capability {
  const label = policyLabel(p);
  return oneSided(SHARDING_CAPABILITY, [label], label);
}

/** Sharding under `p` that the peer must do. */
export function needsSharding<A>(p: ShardPolicy<A>): Capability {
  return oneSided(SHARDING_CAPABILITY, [policyLabel(p)]);
}
