import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@bertha/core';
import { shardOf } from '@bertha/chunnels-shard';
import { encodeRequest, type KvReply, type KvRequest } from './protocol.js';
import { Workload, keyOf, zipfian, type KvRequester } from './ycsb.js';

/** A store in memory that answers at once; `stale` makes it answer reads with the first version ever written. */
function memoryStore(opts: { stale?: boolean } = {}): KvRequester & { ops: Omit<KvRequest, 'id'>[] } {
  const data = new Map<string, string>();
  const first = new Map<string, string>();
  const ops: Omit<KvRequest, 'id'>[] = [];
  let id = 0;
  return {
    ops,
    requestBatch: (reqs) =>
      reqs.map((r) => {
        ops.push(r);
        if (r.op === 'put') {
          data.set(r.key, r.value!);
          if (!first.has(r.key)) first.set(r.key, r.value!);
          return Promise.resolve<KvReply>({ id: id++, ok: true });
        }
        const value = opts.stale === true ? first.get(r.key) : data.get(r.key);
        return Promise.resolve<KvReply>(value === undefined ? { id: id++, ok: true } : { id: id++, ok: true, value });
      }),
  };
}

describe('YCSB-B workload', () => {
  it('draws zipfian ranks: rank 0 most often, a long tail still reached', () => {
    const next = zipfian(1000, 0.99, mulberry32(3));
    const counts = new Uint32Array(1000);
    for (let i = 0; i < 100_000; i++) counts[next()]!++;
    expect(counts[0]).toBeGreaterThan(counts[1]!);
    expect(counts[1]).toBeGreaterThan(counts[10]!);
    expect(counts[0]! / 100_000).toBeGreaterThan(0.08);
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(900);
  });

  it('makes keys whose first 4 bytes spread over the shards', () => {
    const perShard = new Uint32Array(6);
    for (let i = 0; i < 12_000; i++) perShard[shardOf(keyOf(i), 6)]!++;
    for (const n of perShard) expect(n).toBeGreaterThan(1500);
  });

  it('loads every record, runs 95 % reads at the offered schedule, with 132-byte writes, and validates every reply', async () => {
    const store = memoryStore();
    const w = new Workload({ records: 500 });
    await w.load([store]);
    expect(store.ops.length).toBe(500);
    const r = await w.run([store, store], 2000, 500);
    expect(r.ok).toBe(1000);
    expect(r.invalid).toBe(0);
    const run = store.ops.slice(500);
    const reads = run.filter((o) => o.op === 'get').length / run.length;
    expect(reads).toBeGreaterThan(0.9);
    expect(reads).toBeLessThan(0.99);
    const sizes = run.filter((o) => o.op === 'put').map((o) => encodeRequest({ ...o, id: 70_000 }).length);
    for (const n of sizes) expect(Math.abs(n - 132)).toBeLessThanOrEqual(2);
  });

  it('flags a store that answers reads with an old value', async () => {
    const store = memoryStore({ stale: true });
    const w = new Workload({ records: 50 });
    await w.load([store]);
    const r = await w.run([store], 2000, 1000);
    expect(r.invalid).toBeGreaterThan(0);
  });
});
