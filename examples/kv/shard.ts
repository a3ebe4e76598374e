/**
 * One shard of the store: a Map, served to the sharder of this process
 * over a MessagePort and to clients and remote sharders over UDP.
 *
 * Runs as a worker thread (started by store.ts) or as a process of its own:
 *   pnpm tsx examples/kv/shard.ts [host=127.0.0.1] [port=0]
 * prints its address as a JSON line, then serves until killed.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { udp, type SocketAddress } from '@bertha/core';
import { serveShard, type ShardServer } from '@bertha/chunnels-shard';
import { decode, encodeReply, isRequest } from './protocol.js';

export function startShard(host: string, port: number, local?: MessagePort): Promise<ShardServer<SocketAddress>> {
  const data = new Map<string, string>();
  return serveShard({
    port: local,
    listen: { transport: udp({ recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }), address: { host, port } },
    handle(bytes) {
      const req = decode(bytes);
      if (!isRequest(req)) {
        const id = (req as { id?: unknown } | null)?.id;
        return typeof id === 'number' ? encodeReply({ id, ok: false, error: 'ERR_BAD_REQUEST' }) : undefined;
      }
      if (req.op === 'put') {
        data.set(req.key, req.value as string);
        return encodeReply({ id: req.id, ok: true });
      }
      const value = data.get(req.key);
      return encodeReply(value === undefined ? { id: req.id, ok: true } : { id: req.id, ok: true, value });
    },
  });
}

export interface ShardWorkerData {
  readonly host: string;
  readonly port?: MessagePort;
}

if (!isMainThread && parentPort) {
  const d = workerData as ShardWorkerData;
  const server = await startShard(d.host, 0, d.port);
  parentPort.postMessage(server.address);
} else if (process.argv[1]?.endsWith('shard.ts')) {
  const server = await startShard(process.argv[2] ?? '127.0.0.1', Number(process.argv[3] ?? 0));
  console.log(JSON.stringify(server.address));
}
