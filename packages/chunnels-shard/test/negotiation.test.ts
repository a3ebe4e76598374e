import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPass, makeStack, select, serialize, type Conn } from '@bertha/core';
import { connect, listen, negotiated, NegotiationError, type NegotiatedListener } from '@bertha/negotiate';
import { allowClientShard, byServer, clientShard, keyFirst, serverShard, shardOf, shardRaw, type ServerShardChunnel } from '@bertha/chunnels-shard';
import { loopback, startShards, unroutable, type Msg, type Shards } from './service.js';

let shards: Shards;
let server: NegotiatedListener<Uint8Array, typeof loopback>;
let sharder: ServerShardChunnel<typeof loopback>;

/** Keeps accepting so that every client's connection is built (the sharder runs in it). */
function serve<D>(l: NegotiatedListener<D, typeof loopback>): void {
  void (async () => {
    for await (const _ of l) {
      // the sharder forwards; nothing reaches the application
    }
  })();
}

beforeAll(async () => {
  shards = await startShards(4);
  sharder = serverShard({ ...shards.policy, unroutable });
  server = await listen(makeStack(select(allowClientShard(shards.policy), sharder)), shards.policy.transport, loopback);
  serve(server);
});
afterAll(async () => {
  await server.close();
  await shards.close();
});

/**
 * Sends `n` requests with varied keys (some shorter than 4 bytes) in windows
 * small enough for loopback socket buffers, and checks every reply.
 */
async function roundTrips(conn: Conn<Msg>, client: string, n: number): Promise<void> {
  const keys = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 'ab'.slice(0, i % 3) : `k${(i * 7919) % 1000}-${client}`));
  const seen = new Set<number>();
  for (let from = 0; from < n; from += 25) {
    const ids = keys.slice(from, from + 25).map((_, k) => from + k);
    await conn.sendBatch(ids.map((id) => ({ key: keys[id]!, id, client })));
    while (ids.some((id) => !seen.has(id))) {
      const r = await conn.recv();
      expect(r.client).toBe(client);
      expect(r.shard).toBe(shardOf(keys[r.id]!, 4));
      seen.add(r.id);
    }
  }
}

describe('negotiated sharding over UDP', () => {
  it('picks client-side sharding when both ends can; each request reaches its shard, each reply its client', async () => {
    const stack = makeStack(serialize<Msg>(), select(clientShard(shards.policy), byServer()));
    const [a, b] = await Promise.all([connect(stack, shards.policy.transport, server.address), connect(stack, shards.policy.transport, server.address)]);
    expect(negotiated(a)?.stack).toEqual(['serialize', 'shard-client']);
    expect(negotiated(a)?.decisions.map((d) => [d.side, d.taken])).toEqual([
      ['server', 'shard-client'],
      ['client', 'shard-client'],
    ]);
    const before = sharder.stats.forwarded;
    await Promise.all([roundTrips(a, 'a', 300), roundTrips(b, 'b', 300)]);
    expect(sharder.stats.forwarded).toBe(before);
    await Promise.all([a.close(), b.close()]);
  });

  it('picks server-side sharding for a client that cannot shard; replies reach the right client', async () => {
    const plain = makeStack(serialize<Msg>());
    const viaServer = makeStack(serialize<Msg>(), byServer());
    const [a, b] = await Promise.all([connect(plain, shards.policy.transport, server.address), connect(viaServer, shards.policy.transport, server.address)]);
    expect(negotiated(a)?.stack).toEqual(['serialize']);
    expect(negotiated(b)?.stack).toEqual(['serialize', 'shard-by-server']);
    const before = sharder.stats.forwarded;
    await Promise.all([roundTrips(a, 'a', 300), roundTrips(b, 'b', 300)]);
    expect(sharder.stats.forwarded - before).toBe(600);
    await Promise.all([a.close(), b.close()]);
  });

  it('falls back to server-side sharding for a client with another policy, and says why', async () => {
    const other = { ...shards.policy, shards: [...shards.policy.shards].reverse() };
    const stack = makeStack(serialize<Msg>(), select(clientShard(other), byServer()));
    const conn = await connect(stack, shards.policy.transport, server.address);
    const n = negotiated(conn)!;
    expect(n.stack).toEqual(['serialize', 'shard-by-server']);
    const decision = n.decisions.find((d) => d.side === 'client')!;
    expect(decision.taken).toBe('shard-by-server');
    expect(decision.reason).toMatch(/preferred branch 'shard-client' is incompatible: 'sharding'/);
    expect(decision.reason).toContain(`mod 4 → [${shards.policy.shards.map((s) => shards.policy.transport.format(s)).join(', ')}]`);
    await roundTrips(conn, 'c', 100);
    await conn.close();
  });

  it('refuses a client that can only shard by itself under another policy', async () => {
    const other = { ...shards.policy, keyField: 'id' };
    const err = await connect(makeStack(serialize<Msg>(), clientShard(other)), shards.policy.transport, server.address).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
    expect((err as NegotiationError).message).toMatch(/'sharding'.*of 'id' mod 4/);
  });
});

describe('the raw-offset pass', () => {
  it('runs the raw sharder for a client whose serializer writes its layout, and refuses the raw variant otherwise', async () => {
    const layout = keyFirst<Msg>('key').layout;
    const rawStack = applyPass(makeStack(serverShard({ ...shards.policy, unroutable })), shardRaw(layout));
    expect(rawStack.names).toEqual(['shard-server-raw']);
    const raw = await listen(rawStack, shards.policy.transport, loopback);
    serve(raw);
    try {
      const good = await connect(makeStack(keyFirst<Msg>('key')), shards.policy.transport, raw.address);
      await roundTrips(good, 'raw', 300);
      const stats = (rawStack.elems[0] as ServerShardChunnel<typeof loopback>).stats;
      expect(stats.forwarded).toBe(300);
      expect(stats.unroutable).toBe(0);
      await good.close();

      // core's serialize is MessagePack too, but nothing guarantees where it puts the key.
      for (const wrong of [makeStack(serialize<Msg>()), makeStack(keyFirst<Msg & { k?: string }>('k'))]) {
        const err = await connect(wrong, shards.policy.transport, raw.address).catch((e: unknown) => e);
        expect((err as NegotiationError).code).toBe('ERR_NEGOTIATION_INCOMPATIBLE');
        expect((err as NegotiationError).message).toContain(`'shard-key-layout'`);
        const why = (err as NegotiationError).incompatibilities.find((i) => i.type === 'shard-key-layout');
        expect(why?.reason).toContain(layout.id);
      }
    } finally {
      await raw.close();
    }
  });

  it('offered next to the deserializing sharder, is taken when the layout matches and explained when not', async () => {
    const layout = keyFirst<Msg>('key').layout;
    const deser = serverShard({ ...shards.policy, unroutable });
    const pass = shardRaw(layout);
    const rawSharder = pass.replace([deser]);
    const both = await listen(makeStack(select(rawSharder, deser)), shards.policy.transport, loopback);
    serve(both);
    try {
      const fast = await connect(makeStack(keyFirst<Msg>('key')), shards.policy.transport, both.address);
      const plain = await connect(makeStack(serialize<Msg>()), shards.policy.transport, both.address);
      const p = negotiated(plain)!;
      expect(p.decisions[0]).toMatchObject({ side: 'server', taken: 'shard-server' });
      expect(p.decisions[0]!.reason).toMatch(/preferred branch 'shard-server-raw' is incompatible: 'shard-key-layout'/);
      await Promise.all([roundTrips(fast, 'f', 200), roundTrips(plain, 'p', 200)]);
      expect(rawSharder.stats.forwarded).toBe(200);
      expect(deser.stats.forwarded).toBe(200);
      await Promise.all([fast.close(), plain.close()]);
    } finally {
      await both.close();
    }
  });
});
