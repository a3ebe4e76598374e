import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { applyPass, makeStack, udp } from '@bertha/core';
import { keyFirstLayout, serveShard, serverShard, shardRaw, type ServerShardChunnel } from '@bertha/chunnels-shard';
import { Pipe, until } from './pipe.js';
import { keyFirstEncoder, randomRequests } from './random-requests.js';

const SHARDS = 6;
const N = 100_000;

/** Runs `requests` through one sharder whose shards record what reaches them; returns what each shard got, and the replies. */
async function run(make: (ports: ReturnType<typeof portsFor>) => ServerShardChunnel<unknown>, requests: readonly Uint8Array[]) {
  const ports = portsFor(SHARDS);
  const got: Uint8Array[][] = ports.map(() => []);
  const servers = await Promise.all(
    ports.map((p, i) =>
      serveShard({
        port: p.shard,
        handle: (req) => {
          got[i]!.push(req);
          return Uint8Array.of(i, ...req.subarray(0, 8));
        },
      }),
    ),
  );
  const sharder = make(ports);
  const pipe = new Pipe();
  const top = await sharder.connectWrap(pipe, { role: 'server' });
  // In windows, as a client would: a MessagePort queues without bound, this only keeps memory flat.
  for (let from = 0; from < requests.length; from += 5000) {
    for (let i = from; i < Math.min(requests.length, from + 5000); i++) pipe.deliver(requests[i]!);
    await until(() => pipe.sent.length >= Math.min(requests.length, from + 5000), 'replies');
  }
  await top.close();
  await Promise.all(servers.map((s) => s.close()));
  return { got, replies: pipe.sent, stats: sharder.stats };
}

function portsFor(n: number) {
  return Array.from({ length: n }, () => {
    const ch = new MessageChannel();
    return { sharder: ch.port1, shard: ch.port2 };
  });
}

describe('raw sharder vs deserializing sharder', () => {
  it(`forwards byte-identical requests to the same shards, and relays identical replies, on ${N.toLocaleString('en')} random requests`, async () => {
    const encode = await keyFirstEncoder('key');
    const requests = randomRequests(N, 42).map(encode);
    const policy = (ports: ReturnType<typeof portsFor>) => ({
      transport: udp(),
      shards: ports.map((_, i) => ({ host: '127.0.0.1', port: 10_000 + i })),
      keyField: 'key',
      local: ports.map((p) => p.sharder),
    });
    const deser = await run((ports) => serverShard(policy(ports)), requests);
    const raw = await run((ports) => applyPass(makeStack(serverShard(policy(ports))), shardRaw(keyFirstLayout('key'))).elems[0], requests);

    expect(raw.stats).toEqual({ forwarded: N, replies: N, unroutable: 0 });
    expect(deser.stats).toEqual(raw.stats);
    for (let s = 0; s < SHARDS; s++) {
      expect(raw.got[s]!.length).toBe(deser.got[s]!.length);
      expect(Buffer.concat(raw.got[s]!).equals(Buffer.concat(deser.got[s]!))).toBe(true);
    }
    expect(Buffer.concat(raw.replies).equals(Buffer.concat(deser.replies))).toBe(true);
    // Every shard got some: the key bytes, not a constant prefix, chose them.
    expect(Math.min(...raw.got.map((g) => g.length))).toBeGreaterThan(N / SHARDS / 2);
  });
});
