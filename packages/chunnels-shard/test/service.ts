import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { udp, type Conn, type SocketAddress } from '@bertha/core';
import { serveShard, type ShardError, type ShardPolicy, type ShardServer } from '@bertha/chunnels-shard';

export const loopback: SocketAddress = { host: '127.0.0.1', port: 0 };
export const packr = new Packr({ useRecords: false, structuredClone: false });

/** A test message: requests carry `key`; replies echo the request and name the shard that answered. */
export interface Msg {
  key?: string;
  id: number;
  client?: string;
  shard?: number;
  error?: string;
  value?: string;
}

export interface Shards {
  readonly policy: ShardPolicy<SocketAddress>;
  readonly servers: readonly ShardServer<SocketAddress>[];
  /** The sharder's ends of each shard's in-process port (when started with `local`). */
  readonly ports: readonly MessagePort[];
  close(): Promise<void>;
}

/** `n` shards on loopback UDP; each answers a request with the request plus its own index. */
export async function startShards(n: number, opts: { local?: boolean } = {}): Promise<Shards> {
  const transport = udp();
  const ports: MessagePort[] = [];
  const servers = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      let port: MessagePort | undefined;
      if (opts.local === true) {
        const ch = new MessageChannel();
        ports.push(ch.port1);
        port = ch.port2;
      }
      return serveShard({
        handle: (req) => packr.pack({ ...(packr.unpack(req) as Msg), shard: i }),
        port,
        listen: { transport, address: loopback },
      });
    }),
  );
  return {
    policy: { transport, shards: servers.map((s) => s.address!), keyField: 'key' },
    servers,
    ports,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
      for (const p of ports) p.close();
    },
  };
}

/** The sharder's answer to a request it cannot route: an error reply with the request's id. */
export function unroutable(req: Uint8Array, err: ShardError): Uint8Array {
  let id = -1;
  try {
    id = (packr.unpack(req) as Msg).id;
  } catch {
    // not even MessagePack: answer with id -1
  }
  return packr.pack({ id, error: err.code });
}

/** Requests and their replies by id over one connection; a lost request answers undefined after `timeoutMs`. */
export function asker(conn: Conn<Msg>): (msg: Msg, timeoutMs?: number) => Promise<Msg | undefined> {
  const waiting = new Map<number, (m: Msg | undefined) => void>();
  void (async () => {
    for await (const r of conn) waiting.get(r.id)?.(r);
  })().catch(() => undefined);
  return async (msg, timeoutMs = 10_000) => {
    const reply = new Promise<Msg | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      waiting.set(msg.id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    await conn.send(msg);
    const r = await reply;
    waiting.delete(msg.id);
    return r;
  };
}
