/**
 * Client-side sharding: the client opens a connection to every shard and
 * sends each message straight to its key's shard; replies from all shards
 * arrive on the one connection it gets.
 */
import { AbstractConn, StackError, type BaseConn, type CallOptions, type Capability, type Chunnel, type Conn } from '@bertha/core';
import { ShardError, noKey } from './errors.js';
import { onEachMessage } from './inbound.js';
import { MSGPACK_CAPABILITY, decodeKey, type KeyReader } from './keys.js';
import { checkPolicy, needsSharding, suppliesSharding, type ShardPolicy } from './policy.js';

export interface ClientShardOptions {
  /** How the client finds the key in its serialized messages. Default `decodeKey(policy.keyField)`; `rawKey(serializer.layout)` skips the decode. */
  readonly keys?: KeyReader;
}

export type ClientShardChunnel = Chunnel<Uint8Array, Uint8Array, 'shard-client'>;

/** The client end of client-side sharding under `policy`. Sits right above the base connection. */
export function clientShard<A>(policy: ShardPolicy<A>, opts: ClientShardOptions = {}): ClientShardChunnel {
  checkPolicy(policy);
  const keys = opts.keys ?? decodeKey(policy.keyField);
  if (keys.keyField !== policy.keyField) throw new StackError(`clientShard: the key reader reads '${keys.keyField}', the policy shards by '${policy.keyField}'`);
  const capabilities: readonly Capability[] = [suppliesSharding(policy), ...keys.capabilities];
  return {
    name: 'shard-client' as const,
    capabilities: () => capabilities,
    async connectWrap(inner, ctx) {
      if (ctx.role !== 'client') throw new StackError('clientShard() is the client end: a server offers allowClientShard(policy)');
      const opened = await Promise.allSettled(policy.shards.map((a) => policy.transport.connect(a, ctx.signal ? { signal: ctx.signal } : undefined)));
      const failed = opened.find((o) => o.status === 'rejected');
      if (failed) {
        await Promise.all(opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value.close()] : [])));
        throw failed.reason;
      }
      const conns = opened.map((o) => (o as PromiseFulfilledResult<BaseConn<A>>).value);
      return new ClientShardConn(inner, conns, policy.shards.map((a) => policy.transport.format(a)), keys);
    },
  };
}

/**
 * The server end of client-side sharding: offered so that negotiation can
 * pick client-side sharding (it needs the client to shard under `policy`).
 * The connection it makes carries nothing more: the client talks to the
 * shards. It declares the serialization the shards read (MessagePack, as a
 * sharder does), so that clients agree on it whichever sharding they get.
 */
export function allowClientShard<A>(policy: ShardPolicy<A>): ClientShardChunnel {
  checkPolicy(policy);
  const capabilities: readonly Capability[] = [needsSharding(policy), MSGPACK_CAPABILITY];
  return {
    name: 'shard-client' as const,
    capabilities: () => capabilities,
    async connectWrap(inner, ctx) {
      if (ctx.role !== 'server') throw new StackError('allowClientShard() is the server end: a client offers clientShard(policy)');
      return inner;
    },
  };
}

/** Messages go to their key's shard; replies from every shard come up here. */
export class ClientShardConn extends AbstractConn<Uint8Array> {
  readonly #canonical: Conn<Uint8Array>;
  readonly #shards: readonly Conn<Uint8Array>[];
  readonly #names: readonly string[];
  readonly #keys: KeyReader;

  constructor(canonical: Conn<Uint8Array>, shards: readonly Conn<Uint8Array>[], names: readonly string[], keys: KeyReader) {
    super();
    this.#canonical = canonical;
    this.#shards = shards;
    this.#names = names;
    this.#keys = keys;
    const push = (m: Uint8Array): void => {
      this.stats.received++;
      this.inbox.push(m);
    };
    // A shard that goes away fails the sends to it; the others go on.
    for (const c of shards) onEachMessage(c, push, () => undefined);
  }

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ShardError('ERR_SHARD_UNAVAILABLE', 'connection is closed: open a new one to keep sending'));
    const groups = new Map<Conn<Uint8Array>, Uint8Array[]>();
    try {
      if (msgs.length === 1) return this.#to(msgs[0] as Uint8Array).send(msgs[0] as Uint8Array, opts);
      for (const m of msgs) {
        const c = this.#to(m);
        const g = groups.get(c);
        if (g) g.push(m);
        else groups.set(c, [m]);
      }
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return Promise.all([...groups].map(([c, g]) => c.sendBatch(g, opts))).then(() => undefined);
  }

  #to(msg: Uint8Array): Conn<Uint8Array> {
    const n = this.#shards.length;
    const i = this.#keys.shard(msg, n);
    if (i < 0) throw noKey(this.#keys.keyField);
    const c = this.#shards[i] as Conn<Uint8Array>;
    if (c.closed) throw new ShardError('ERR_SHARD_UNAVAILABLE', `shard ${i} (${this.#names[i]}) is closed: reconnect to the service`, i);
    this.stats.sent++;
    return c;
  }

  protected async onClose(): Promise<void> {
    await Promise.all([...this.#shards.map((c) => c.close()), this.#canonical.close()]);
  }
}
