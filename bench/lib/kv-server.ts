/**
 * The servers of `bench kv`, in a worker thread of their own (as on
 * another host): 6 shard worker threads behind three canonical addresses:
 * `port` forwards over the shards' MessagePorts (with
 * the deserializing sharder only), `udpDeserializing` and `udpRaw` forward
 * over UDP, as to shards across a link, with the deserializing sharder only
 * / the raw one first (the clients' serializer writes its layout, so they
 * get it).
 */
import { parentPort } from 'node:worker_threads';
import type { SocketAddress } from '@bertha/core';
import { startStore } from '../../examples/kv/store.js';

export interface KvServers {
  readonly port: SocketAddress;
  readonly udpDeserializing: SocketAddress;
  readonly udpRaw: SocketAddress;
  readonly shards: readonly SocketAddress[];
}

const port = await startStore({ raw: false });
const remoteShards = port.policy.shards;
const udpDeserializing = await startStore({ remoteShards, raw: false });
const udpRaw = await startStore({ remoteShards, raw: true });
parentPort?.postMessage({ port: port.address, udpDeserializing: udpDeserializing.address, udpRaw: udpRaw.address, shards: remoteShards } satisfies KvServers);
parentPort?.on('message', () => {
  parentPort?.postMessage([port, udpDeserializing, udpRaw].flatMap((s) => s.sharders.map((c) => ({ name: c.name, ...c.stats }))));
});
