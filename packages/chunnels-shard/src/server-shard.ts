/**
 * Server-side sharding: the canonical server reads each request, finds its
 * shard and forwards it (over a MessagePort to a shard in a worker thread of
 * this process, over the policy's transport to a shard elsewhere); replies
 * go back to the client the request came from.
 */
import type { MessagePort } from 'node:worker_threads';
import { AbstractConn, StackError, type CallOptions, type Capability, type Chunnel, type Conn } from '@bertha/core';
import { ShardError, noKey } from './errors.js';
import { onEachMessage } from './inbound.js';
import { connectionId, localRoute, type LocalRoute } from './local-route.js';
import { decodeKey, type KeyReader } from './keys.js';
import { checkPolicy, suppliesSharding, type ShardPolicy } from './policy.js';

export interface ServerShardConfig<A> extends ShardPolicy<A> {
  /**
   * Shards in worker threads of this process, by shard index: requests for
   * them go over the port (see `serveShard`); the others over `transport`
   * to their address.
   */
  readonly local?: readonly (MessagePort | undefined)[];
  /** How the sharder finds the key. Default `decodeKey(keyField)`; the `shardRaw` pass swaps in `rawKey`. */
  readonly keys?: KeyReader;
  /**
   * The reply to a request that cannot reach a shard (no key, shard down),
   * in the application's format; undefined drops it. The sharder does not
   * know the application's messages, so without this the client only sees
   * its request time out.
   */
  readonly unroutable?: (request: Uint8Array, err: ShardError) => Uint8Array | undefined;
}

/** What a sharder did, over all its connections. Reading it is free. */
export interface ShardStats {
  forwarded: number;
  replies: number;
  /** Requests with no readable key or whose shard is down (answered through `unroutable` when given). */
  unroutable: number;
}

export interface ServerShardChunnel<A, N extends 'shard-server' | 'shard-server-raw' = 'shard-server' | 'shard-server-raw'> extends Chunnel<Uint8Array, Uint8Array, N> {
  readonly config: ServerShardConfig<A>;
  readonly stats: ShardStats;
}

/** The server end of server-side sharding (the canonical server's sharder). */
export function serverShard<A>(config: ServerShardConfig<A>): ServerShardChunnel<A, 'shard-server'> {
  return sharder(config, 'shard-server');
}

export function sharder<A, N extends 'shard-server' | 'shard-server-raw'>(config: ServerShardConfig<A>, name: N): ServerShardChunnel<A, N> {
  checkPolicy(config);
  const keys = config.keys ?? decodeKey(config.keyField);
  if (keys.keyField !== config.keyField) throw new StackError(`serverShard: the key reader reads '${keys.keyField}', the policy shards by '${config.keyField}'`);
  if ((config.local?.length ?? 0) > config.shards.length) throw new StackError(`serverShard: ${config.local?.length} local ports for ${config.shards.length} shards`);
  const capabilities: readonly Capability[] = [suppliesSharding(config), ...keys.capabilities];
  const stats: ShardStats = { forwarded: 0, replies: 0, unroutable: 0 };
  let routes: (LocalRoute | undefined)[] | undefined;
  return {
    name,
    config,
    stats,
    capabilities: () => capabilities,
    async connectWrap(inner, ctx) {
      if (ctx.role !== 'server') throw new StackError('serverShard() is the server end: a client that leaves sharding to the server offers byServer()');
      routes ??= config.shards.map((_, i) => {
        const port = config.local?.[i];
        return port ? localRoute(port) : undefined;
      });
      return new SharderConn(inner, config, keys, routes, stats);
    },
  };
}

/**
 * The client end of server-side sharding: nothing to do, the server shards.
 * It declares nothing, so a client without it negotiates the same; it is
 * there to be the other branch of a `select` with `clientShard`.
 */
export function byServer(): Chunnel<Uint8Array, Uint8Array, 'shard-by-server'> {
  return {
    name: 'shard-by-server' as const,
    capabilities: () => [],
    connectWrap: async (inner) => inner,
  };
}

/** A link to a remote shard for one client connection: replies on it belong to that client. */
interface Remote {
  conn: Conn<Uint8Array> | undefined;
  queued: Uint8Array[];
}

/**
 * One client's connection at the sharder. Its requests never reach the
 * application above (they go to the shards); what the application sends on
 * it goes to the client.
 */
class SharderConn<A> extends AbstractConn<Uint8Array> {
  readonly #id = connectionId();
  readonly #inner: Conn<Uint8Array>;
  readonly #config: ServerShardConfig<A>;
  readonly #keys: KeyReader;
  readonly #routes: readonly (LocalRoute | undefined)[];
  readonly #remotes: (Remote | undefined)[] = [];
  readonly #shared: ShardStats;
  #out: Uint8Array[] = [];
  #flushing = false;

  constructor(inner: Conn<Uint8Array>, config: ServerShardConfig<A>, keys: KeyReader, routes: readonly (LocalRoute | undefined)[], stats: ShardStats) {
    super();
    this.#inner = inner;
    this.#config = config;
    this.#keys = keys;
    this.#routes = routes;
    this.#shared = stats;
    for (const r of routes) r?.register(this.#id, this.#reply);
    onEachMessage(inner, this.#forward, () => void this.close());
  }

  readonly #forward = (msg: Uint8Array): void => {
    const n = this.#routes.length;
    const i = this.#keys.shard(msg, n);
    if (i < 0) return this.#unroutable(msg, noKey(this.#keys.keyField));
    const local = this.#routes[i];
    if (local) {
      if (!local.up) return this.#unroutable(msg, new ShardError('ERR_SHARD_UNAVAILABLE', `shard ${i} is down (its worker exited)`, i));
      local.send(this.#id, msg);
    } else this.#toRemote(i, msg);
    this.#shared.forwarded++;
  };

  #toRemote(i: number, msg: Uint8Array): void {
    let r = this.#remotes[i];
    if (r?.conn?.closed === true) r = undefined;
    if (r === undefined) {
      const remote: Remote = { conn: undefined, queued: [msg] };
      this.#remotes[i] = remote;
      const addr = this.#config.shards[i] as A;
      this.#config.transport.connect(addr).then(
        (conn) => {
          if (this.closed) return void conn.close();
          remote.conn = conn;
          onEachMessage(conn, this.#reply, () => undefined);
          const q = remote.queued;
          remote.queued = [];
          conn.sendBatch(q).catch(() => undefined);
        },
        () => {
          const err = new ShardError('ERR_SHARD_UNAVAILABLE', `shard ${i} (${this.#config.transport.format(addr)}) cannot be reached`, i);
          if (this.#remotes[i] === remote) this.#remotes[i] = undefined;
          for (const m of remote.queued) this.#unroutable(m, err);
        },
      );
      return;
    }
    if (r.conn === undefined) r.queued.push(msg);
    else r.conn.send(msg).catch(() => undefined);
  }

  #unroutable(msg: Uint8Array, err: ShardError): void {
    this.#shared.unroutable++;
    let answer: Uint8Array | undefined;
    try {
      answer = this.#config.unroutable?.(msg, err);
    } catch {
      answer = undefined;
    }
    if (answer) this.#reply(answer);
  }

  /** Replies leave in one batch per turn of the microtask queue (a shard port delivers many at once). */
  readonly #reply = (msg: Uint8Array): void => {
    this.#shared.replies++;
    this.#out.push(msg);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(this.#flush);
  };

  readonly #flush = (): void => {
    this.#flushing = false;
    const out = this.#out;
    this.#out = [];
    if (!this.#inner.closed) this.#inner.sendBatch(out).catch(() => undefined);
  };

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    return this.#inner.sendBatch(msgs, opts);
  }

  protected async onClose(): Promise<void> {
    for (const r of this.#routes) r?.unregister(this.#id);
    await Promise.all([...this.#remotes.map((r) => r?.conn?.close()), this.#inner.close()]);
  }
}
