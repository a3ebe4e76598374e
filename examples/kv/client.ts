/**
 * The store's client library: a negotiated connection (client-side
 * sharding when the server agrees to the client's policy, server-side
 * otherwise), requests matched to replies by id, a deadline on each.
 */
import { BerthaError, makeStack, select, udp, type Conn, type SocketAddress } from '@bertha/core';
import { byServer, clientShard, keyFirst, rawKey, type ShardPolicy } from '@bertha/chunnels-shard';
import { connect, negotiated, type Negotiation } from '@bertha/negotiate';
import { KEY_FIELD, isReply, type KvMessage, type KvReply, type KvRequest } from './protocol.js';

export class KvError extends BerthaError {}

export interface KvClientOptions {
  /** The shards, to shard by itself; without it the client leaves sharding to the server. */
  readonly policy?: ShardPolicy<SocketAddress>;
  /** A request without a reply after this long fails with `ERR_TIMEOUT`. Default 2,000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly resolve: (r: KvReply) => void;
  readonly reject: (e: Error) => void;
  readonly deadline: number;
}

/** The stack a client offers: its serializer, and client-side sharding if it knows the policy. */
export function clientStack(policy: ShardPolicy<SocketAddress> | undefined) {
  const serializer = keyFirst<KvMessage>(KEY_FIELD);
  // The client reads keys from its own serializer's layout: no decode of what it just encoded.
  if (policy) return makeStack(serializer, select(clientShard(policy, { keys: rawKey(serializer.layout) }), byServer()));
  return makeStack(serializer);
}

export class KvClient {
  readonly #conn: Conn<KvMessage>;
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;
  #nextId = 1;

  private constructor(conn: Conn<KvMessage>, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    void this.#read();
    // One timer for every deadline: a timer per request would cost more than the request.
    this.#sweeper = setInterval(() => this.#expire(), Math.min(100, timeoutMs / 4));
    this.#sweeper.unref();
  }

  static async connect(server: SocketAddress, opts: KvClientOptions = {}): Promise<KvClient> {
    const policy = opts.policy;
    const transport = policy?.transport ?? udp();
    const conn = await connect(clientStack(policy), transport, server, opts.signal ? { signal: opts.signal } : {});
    return new KvClient(conn, opts.timeoutMs ?? 2000);
  }

  /** How the connection was negotiated (which sharding, and why). */
  get negotiation(): Negotiation | undefined {
    return negotiated(this.#conn);
  }

  async get(key: string): Promise<string | undefined> {
    const [r] = this.requestBatch([{ key, op: 'get' }]);
    return (await r!).value;
  }

  async put(key: string, value: string): Promise<void> {
    const [r] = this.requestBatch([{ key, op: 'put', value }]);
    await r;
  }

  /** Sends requests in one batch; each promise settles with its reply, or rejects with a `KvError`. */
  requestBatch(reqs: readonly Omit<KvRequest, 'id'>[]): Promise<KvReply>[] {
    const deadline = Date.now() + this.#timeoutMs;
    const msgs: KvRequest[] = [];
    const out = reqs.map((r) => {
      const id = this.#nextId++;
      msgs.push({ ...r, id });
      return new Promise<KvReply>((resolve, reject) => this.#pending.set(id, { resolve, reject, deadline }));
    });
    this.#conn.sendBatch(msgs).catch((err: unknown) => {
      const e = err instanceof BerthaError ? new KvError(err.code, err.message) : new KvError('ERR_SEND', String(err));
      for (const m of msgs) this.#settle(m.id, e);
    });
    return out;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#conn.close();
    const closed = new KvError('ERR_CONN_CLOSED', 'the client was closed before the reply came');
    for (const id of [...this.#pending.keys()]) this.#settle(id, closed);
  }

  async #read(): Promise<void> {
    try {
      // In batches: one promise per batch of replies rather than per reply.
      for (;;) {
        for (const m of await this.#conn.recvBatch(256)) {
          if (!isReply(m)) continue;
          if (m.ok) this.#settle(m.id, m);
          else this.#settle(m.id, new KvError(m.error ?? 'ERR_KV', `request ${m.id} failed: ${m.error ?? 'unknown error'}`));
        }
      }
    } catch {
      // the connection ended: pending requests time out
    }
  }

  #settle(id: number, r: KvReply | Error): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (r instanceof Error) p.reject(r);
    else p.resolve(r);
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline > now) continue;
      this.#settle(id, new KvError('ERR_TIMEOUT', `request ${id} had no reply in ${this.#timeoutMs} ms (lost, or its shard is down)`));
    }
  }
}
