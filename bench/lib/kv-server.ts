/**
 * The servers of `bench kv`, in a worker thread of their own (as on
 * another host): 6 shard worker threads behind three canonical addresses:
 * `port` forwards over the shards' MessagePorts (with
 * the deserializing sharder only; over UDP too when the shards are given
 * in `workerData`), `udpDeserializing` and `udpRaw` forward
 * over UDP, as to shards across a link, with the deserializing sharder only
 * / the raw one first (the clients' serializer writes its layout, so they
 * get it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SocketAddress } from '@bertha/core';
import { startStore } from '../../examples/kv/store.js';

export interface KvServers {
  readonly port: SocketAddress;
  readonly udpDeserializing: SocketAddress;
  readonly udpRaw: SocketAddress;
  readonly shards: readonly SocketAddress[];
}

/** Shards running elsewhere (scripts/kv-netns.sh: in another namespace), and this end's address there. */
export interface KvServerData {
  readonly shards?: readonly SocketAddress[];
  readonly host?: string;
}

// bench/lib/worker.ts hands our data over as `workerData.data`.
const { shards, host } = (workerData as { data: KvServerData }).data;
const port = await startStore({ raw: false, ...(shards ? { remoteShards: shards } : {}), ...(host ? { host } : {}) });
const remoteShards = port.policy.shards;
const udpDeserializing = await startStore({ remoteShards, raw: false, ...(host ? { host } : {}) });
const udpRaw = await startStore({ remoteShards, raw: true, ...(host ? { host } : {}) });
parentPort?.postMessage({ port: port.address, udpDeserializing: udpDeserializing.address, udpRaw: udpRaw.address, shards: remoteShards } satisfies KvServers);
parentPort?.on('message', () => {
  parentPort?.postMessage([port, udpDeserializing, udpRaw].flatMap((s) => s.sharders.map((c) => ({ name: c.name, ...c.stats }))));
});
