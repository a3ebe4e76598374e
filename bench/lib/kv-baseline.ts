/**
 * The hand-written baseline of `bench kv`: the same application with no
 * Chunnels and no negotiation. One Node UDP socket per shard, the key-first
 * MessagePack request written by hand, the shard chosen with the same
 * function, replies matched by id, one timer for every deadline.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { SocketAddress } from '@bertha/core';
import { shardOfString } from '@bertha/chunnels-shard';
import { decode, encodeRequest, type KvReply, type KvRequest } from '../../examples/kv/protocol.js';
import type { KvRequester } from '../../examples/kv/ycsb.js';

interface Pending {
  readonly resolve: (r: KvReply) => void;
  readonly reject: (e: Error) => void;
  readonly deadline: number;
}

export class BaselineClient implements KvRequester {
  readonly #sockets: Socket[];
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;
  #nextId = 1;

  private constructor(sockets: Socket[], timeoutMs: number) {
    this.#sockets = sockets;
    for (const s of sockets) {
      s.on('message', (m: Buffer) => {
        const r = decode(m) as KvReply;
        const p = this.#pending.get(r.id);
        if (!p) return;
        this.#pending.delete(r.id);
        p.resolve(r);
      });
    }
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of this.#pending) {
        if (p.deadline > now) continue;
        this.#pending.delete(id);
        p.reject(Object.assign(new Error(`request ${id} timed out`), { code: 'ERR_TIMEOUT' }));
      }
    }, Math.min(100, timeoutMs / 4));
    this.#timeoutMs = timeoutMs;
  }

  static async connect(shards: readonly SocketAddress[], timeoutMs = 2000): Promise<BaselineClient> {
    const sockets = await Promise.all(
      shards.map(
        (a) =>
          new Promise<Socket>((resolve, reject) => {
            const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
            s.once('error', reject);
            s.connect(a.port, a.host, () => resolve(s));
          }),
      ),
    );
    return new BaselineClient(sockets, timeoutMs);
  }

  requestBatch(reqs: readonly Omit<KvRequest, 'id'>[]): Promise<KvReply>[] {
    const deadline = Date.now() + this.#timeoutMs;
    const n = this.#sockets.length;
    return reqs.map((r) => {
      const id = this.#nextId++;
      const p = new Promise<KvReply>((resolve, reject) => this.#pending.set(id, { resolve, reject, deadline }));
      this.#sockets[shardOfString(r.key, n)]!.send(encodeRequest({ ...r, id }));
      return p;
    });
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const s of this.#sockets) s.close();
  }
}
