import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStack, serialize, twoSided, udp, type Chunnel } from '@bertha/core';
import { connect, listen, type NegotiatedListener } from '@bertha/negotiate';
import { clientShard, serverShard, shardOf, ShardError, type ServerShardChunnel } from '@bertha/chunnels-shard';
import { asker, loopback, packr, startShards, unroutable, type Msg, type Shards } from './service.js';
import { until } from './pipe.js';

let shards: Shards;
let sharder: ServerShardChunnel<typeof loopback>;
let server: NegotiatedListener<Uint8Array, typeof loopback>;

beforeAll(async () => {
  // Shards 0 and 1 are in-process (ports), 2 is reached over UDP.
  shards = await startShards(3, { local: true });
  sharder = serverShard({ ...shards.policy, local: shards.ports.slice(0, 2), unroutable });
  server = await listen(makeStack(sharder), shards.policy.transport, loopback);
  void (async () => {
    for await (const _ of server) {
      // the sharder forwards; nothing reaches the application
    }
  })();
});
afterAll(async () => {
  await server.close();
  await shards.close();
});

/** Sends bytes as they are, declaring MessagePack like a serializer would: a client that sends garbage. */
const rawBytes: Chunnel<Uint8Array, Uint8Array, 'raw-bytes'> = {
  name: 'raw-bytes',
  capabilities: () => [twoSided('serialization', 'msgpack')],
  connectWrap: async (inner) => inner,
};

/** A key of each shard. */
const keyOf = (shard: number): string => {
  for (let i = 0; ; i++) if (shardOf(`key${i}`, 3) === shard) return `key${i}`;
};

describe('bad input at the sharder', () => {
  it('routes short and empty keys by the bytes they have, over ports and UDP alike', async () => {
    const conn = await connect(makeStack(serialize<Msg>()), udp(), server.address);
    const ask = asker(conn);
    for (const [id, key] of ['', 'a', 'ab', 'abc', 'abcd', 'é'].entries()) {
      expect((await ask({ id, key }))?.shard).toBe(shardOf(key, 3));
    }
    await conn.close();
  });

  it('answers a request without a key with a clear error, through the application hook, and goes on', async () => {
    const conn = await connect(makeStack(serialize<Msg>()), udp(), server.address);
    const ask = asker(conn);
    expect(await ask({ id: 1 })).toEqual({ id: 1, error: 'ERR_SHARD_KEY' });
    expect((await ask({ id: 2, key: 'abcd' }))?.shard).toBe(shardOf('abcd', 3));
    await conn.close();
  });

  it('drops garbage on a negotiated connection and garbage datagrams at the listener; other clients are unaffected', async () => {
    const other = await connect(makeStack(serialize<Msg>()), udp(), server.address);
    const ask = asker(other);
    const bytes = await connect(makeStack(rawBytes), udp(), server.address);
    const before = sharder.stats.unroutable;
    await bytes.sendBatch([Uint8Array.of(0xc1), Uint8Array.of(0xff, 0, 1), new Uint8Array(0), packr.pack([1, 2, 3])]);
    const raw = createSocket('udp4');
    for (const junk of [Uint8Array.of(9, 9, 9), Uint8Array.of(0), Uint8Array.of(1, 0xc1), new Uint8Array(1000).fill(0x02)]) {
      await new Promise<void>((r) => raw.send(junk, server.address.port, server.address.host, () => r()));
    }
    await until(() => sharder.stats.unroutable - before >= 4, 'garbage on the connection to be counted');
    await until(() => server.stats.malformed > 0, 'garbage datagrams to be counted');
    expect((await ask({ id: 7, key: 'still' }))?.shard).toBe(shardOf('still', 3));
    raw.close();
    await Promise.all([other.close(), bytes.close()]);
  });

  it('answers requests for a shard that went down with ERR_SHARD_UNAVAILABLE; the other shards go on', async () => {
    const conn = await connect(makeStack(serialize<Msg>()), udp(), server.address);
    const ask = asker(conn);
    expect((await ask({ id: 1, key: keyOf(0) }))?.shard).toBe(0);
    await shards.servers[0]!.close(); // its worker's end of the port closes, as when a worker exits
    // The port's close reaches the sharder asynchronously: a request may still go to the closed port (and be lost) before it.
    let answer: Msg | undefined;
    for (let id = 10; answer?.error === undefined; id++) answer = await ask({ id, key: keyOf(0) }, 200);
    expect(answer?.error).toBe('ERR_SHARD_UNAVAILABLE');
    expect((await ask({ id: 100, key: keyOf(1) }))?.shard).toBe(1);
    expect((await ask({ id: 101, key: keyOf(2) }))?.shard).toBe(2);
    await conn.close();
  });

  it('client-side sharding refuses to send a message without a key, with a typed error', async () => {
    // Both ends can shard here (the server is a sharder too): the client shards by itself.
    const conn = await connect(makeStack(serialize<Msg>(), clientShard(shards.policy)), udp(), server.address);
    const err = await conn.send({ id: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardError);
    expect((err as ShardError).code).toBe('ERR_SHARD_KEY');
    await conn.close();
  });
});
