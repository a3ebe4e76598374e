/**
 * The sharded store's server: N shards (worker threads of this process, or
 * shards running elsewhere) and the canonical address, where clients
 * negotiate. The canonical server offers both shardings; a client that can
 * shard by itself under the same policy does, any other is sharded here.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { makeStack, select, udp, type SocketAddress } from '@bertha/core';
import { listen } from '@bertha/negotiate';
import { allowClientShard, keyFirstLayout, serverShard, shardRaw, type ServerShardChunnel, type ShardPolicy } from '@bertha/chunnels-shard';
import { KEY_FIELD, unroutableReply } from './protocol.js';
import type { ShardWorkerData } from './shard.js';
import { startTsWorker } from './threads.js';

export interface StoreOptions {
  /** Shards to start as worker threads of this process. Default 6; ignored with `remoteShards`. */
  readonly shards?: number;
  /** Shards already running elsewhere (`shard.ts` as processes, in other namespaces …), in shard order. */
  readonly remoteShards?: readonly SocketAddress[];
  /** Where the canonical server and the worker shards listen. Default 127.0.0.1. */
  readonly host?: string;
  /** Forward to worker shards over their MessagePort (default) or over UDP, as to a remote shard. */
  readonly forward?: 'port' | 'udp';
  /** Offer the raw-offset sharder (the `shardRaw` pass) before the deserializing one. Default true. */
  readonly raw?: boolean;
}

export interface Store {
  /** Where clients connect. */
  readonly address: SocketAddress;
  readonly policy: ShardPolicy<SocketAddress>;
  /** The sharders the canonical server offers, for their stats. */
  readonly sharders: readonly ServerShardChunnel<unknown>[];
  /** The worker shards (to stop one, say). */
  readonly workers: readonly Worker[];
  close(): Promise<void>;
}

const BUFFERS = 4 << 20;

export async function startStore(opts: StoreOptions = {}): Promise<Store> {
  const host = opts.host ?? '127.0.0.1';
  const transport = udp({ recvBufferSize: BUFFERS, sendBufferSize: BUFFERS });
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  let addresses: readonly SocketAddress[];
  if (opts.remoteShards) addresses = opts.remoteShards;
  else {
    const started = await Promise.all(
      Array.from({ length: opts.shards ?? 6 }, () => {
        const { port1, port2 } = new MessageChannel();
        ports.push(port1);
        const data: ShardWorkerData = { host, port: port2 };
        return startTsWorker<SocketAddress>(new URL('./shard.ts', import.meta.url), data, [port2]);
      }),
    );
    workers.push(...started.map((s) => s.worker));
    addresses = started.map((s) => s.ready);
  }
  const policy: ShardPolicy<SocketAddress> = { transport, shards: addresses, keyField: KEY_FIELD };
  const deserializing = serverShard({ ...policy, local: opts.forward === 'udp' ? [] : ports, unroutable: unroutableReply });
  const raw = shardRaw(keyFirstLayout(KEY_FIELD)).replace([deserializing]);
  const sharders = opts.raw === false ? [deserializing] : [raw, deserializing];
  const sharding = opts.raw === false ? deserializing : select(raw, deserializing);
  const listener = await listen(makeStack(select(allowClientShard(policy), sharding)), transport, { host, port: 0 });
  // Every connection must be accepted for its sharder to run; nothing reaches the application here.
  void (async () => {
    for await (const _ of listener) {
      // the sharder forwards to the shards
    }
  })();
  return {
    address: listener.address,
    policy,
    sharders,
    workers,
    async close() {
      await listener.close();
      await Promise.all(workers.map((w) => w.terminate()));
      for (const p of ports) p.close();
    },
  };
}
