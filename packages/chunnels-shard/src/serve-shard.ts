/**
 * The shard's side: serves one shard's request handler to the sharder in
 * this process (over a MessagePort, in batches) and to clients and remote
 * sharders (over a listener of the policy's transport). The handler is
 * synchronous: a shard owns its data and answers in order.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Conn, Listener, Transport } from '@bertha/core';
import { onEachMessage } from './inbound.js';
import { isShardBatch } from './local-route.js';

export interface ServeShardOptions<A> {
  /** Answers one serialized request; undefined sends no answer. A handler that throws drops that request (counted). */
  readonly handle: (request: Uint8Array) => Uint8Array | undefined;
  /** The port the in-process sharder forwards on (the other end of a `local` port of `serverShard`). */
  readonly port?: MessagePort;
  /** Where clients sharding by themselves, and remote sharders, reach this shard. */
  readonly listen?: { readonly transport: Transport<A>; readonly address: A };
}

export interface ShardServerStats {
  requests: number;
  /** Requests the handler threw on, or malformed batches. */
  failed: number;
}

export interface ShardServer<A> {
  /** The bound address of `listen` (with the port the OS chose). */
  readonly address: A | undefined;
  readonly stats: ShardServerStats;
  close(): Promise<void>;
}

export async function serveShard<A>(opts: ServeShardOptions<A>): Promise<ShardServer<A>> {
  const stats: ShardServerStats = { requests: 0, failed: 0 };
  const answer = (req: Uint8Array): Uint8Array | undefined => {
    stats.requests++;
    try {
      return opts.handle(req);
    } catch {
      stats.failed++;
      return undefined;
    }
  };

  const { port } = opts;
  port?.on('message', (b: unknown) => {
    if (!isShardBatch(b)) {
      stats.failed++;
      return;
    }
    const ids: number[] = [];
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < b.ids.length; i++) {
      const r = answer(b.msgs[i] as Uint8Array);
      if (r === undefined) continue;
      ids.push(b.ids[i] as number);
      msgs.push(r);
    }
    if (ids.length > 0) port.postMessage({ ids, msgs });
  });

  let listener: Listener<A> | undefined;
  if (opts.listen) {
    const l = await opts.listen.transport.listen(opts.listen.address);
    listener = l;
    void (async () => {
      for await (const conn of l) serveConn(conn, answer);
    })();
  }
  return {
    address: listener?.address,
    stats,
    async close() {
      port?.close();
      await listener?.close();
    },
  };
}

/** Answers every request of one peer; answers leave in one batch per turn of the microtask queue. */
function serveConn(conn: Conn<Uint8Array>, answer: (req: Uint8Array) => Uint8Array | undefined): void {
  let out: Uint8Array[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const batch = out;
    out = [];
    conn.sendBatch(batch).catch(() => undefined);
  };
  onEachMessage(
    conn,
    (m) => {
      const r = answer(m);
      if (r === undefined) return;
      out.push(r);
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    () => undefined,
  );
}
