/**
 * The sharded key-value store end to end: 6 shards (worker threads, or
 * processes with --processes, or shards already running elsewhere with
 * --shards host:port,…), the canonical server negotiating client- or
 * server-side sharding, a YCSB-B load phase and a short open-loop run with
 * each kind of client, every reply validated, and what happens when a
 * shard goes down.
 *
 *   pnpm tsx examples/kv/main.ts [--records 2000] [--rate 2000] [--seconds 1.5] [--processes | --shards h:p,h:p,…] [--host 127.0.0.1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SocketAddress } from '@bertha/core';
import { KvClient, type KvError } from './client.js';
import { shardOf } from '@bertha/chunnels-shard';
import { startStore } from './store.js';
import { Workload, keyOf } from './ycsb.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '1.5' },
    processes: { type: 'boolean', default: false },
    shards: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

/** Starts each shard as a process of its own; resolves with their addresses. */
async function shardProcesses(n: number, host: string): Promise<{ addresses: SocketAddress[]; children: ChildProcess[] }> {
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
  const children = Array.from({ length: n }, () => spawn(tsx, [fileURLToPath(new URL('./shard.ts', import.meta.url)), host, '0'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const addresses = await Promise.all(
    children.map(async (c) => {
      const [line] = (await once(createInterface({ input: c.stdout }), 'line')) as [string];
      return JSON.parse(line) as SocketAddress;
    }),
  );
  return { addresses, children };
}

const records = Number(args.records);
const rate = Number(args.rate);
const durationMs = Number(args.seconds) * 1000;

let children: ChildProcess[] = [];
let remoteShards: SocketAddress[] | undefined;
if (args.shards !== undefined) {
  remoteShards = args.shards.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
} else if (args.processes) {
  ({ addresses: remoteShards, children } = await shardProcesses(6, args.host));
}
const where = remoteShards ? (args.processes ? '6 shard processes' : `${remoteShards.length} remote shards`) : '6 shard worker threads';
const store = await startStore({ host: args.host, ...(remoteShards ? { remoteShards } : {}) });
console.log(`store at ${store.policy.transport.format(store.address)} with ${where}`);

try {
  // Clients that know the shards shard by themselves; one that does not is sharded by the server.
  const sharding = await Promise.all([0, 1, 2, 3].map(() => KvClient.connect(store.address, { policy: store.policy })));
  const plain = await Promise.all([0, 1, 2, 3].map(() => KvClient.connect(store.address)));
  const stale = await KvClient.connect(store.address, { policy: { ...store.policy, shards: store.policy.shards.slice(1) } });
  for (const [who, c] of [['client with the policy', sharding[0]!], ['client without it', plain[0]!], ['client with a stale policy (5 shards)', stale]] as const) {
    const n = c.negotiation!;
    console.log(`  ${who}: ${n.stack.join(' → ')}`);
    for (const d of n.decisions) console.log(`    ${d.side} took '${d.taken}': ${d.reason.length > 160 ? `${d.reason.slice(0, 157)}…` : d.reason}`);
  }

  const workload = new Workload({ records });
  await workload.load(sharding);
  console.log(`\nloaded ${records.toLocaleString('en')} records (132-byte PUTs); YCSB-B at ${rate.toLocaleString('en')} ops/s for ${durationMs / 1000} s:`);
  const kinds = [['client-side sharding', sharding], ['server-side sharding', plain]] as const;
  // A short unreported run of each first, so that neither is measured with cold code.
  for (const [, clients] of kinds) await workload.run(clients, rate, 300);
  for (const [name, clients] of kinds) {
    const r = await workload.run(clients, rate, durationMs);
    console.log(
      `  ${name.padEnd(21)} ${r.achieved.toFixed(0).padStart(6)} ops/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ` +
        `ok ${r.ok}, timeouts ${r.timeouts}, errors ${r.errors}, invalid replies ${r.invalid}`,
    );
    if (r.invalid > 0) throw new Error(`${r.invalid} replies broke read-your-acknowledged-writes`);
  }
  for (const s of store.sharders) console.log(`  sharder ${s.name}: forwarded ${s.stats.forwarded}, unroutable ${s.stats.unroutable}`);

  if (store.workers.length > 0) {
    // Shard 0's worker exits: the sharder answers its keys with an error at once; the other shards go on.
    await store.workers[0]!.terminate();
    const keys = Array.from({ length: records }, (_, i) => keyOf(i));
    const onShard0 = keys.find((k) => shardOf(k, 6) === 0)!;
    const elsewhere = keys.find((k) => shardOf(k, 6) !== 0)!;
    const err = await plain[0]!.get(onShard0).then(
      () => undefined,
      (e: unknown) => e as KvError,
    );
    const value = await plain[0]!.get(elsewhere);
    console.log(`\nshard 0 stopped: a get of one of its keys fails with ${err?.code ?? 'no error (!)'}; shard ${shardOf(elsewhere, 6)} still answers (${value?.slice(0, 6)}…)`);
  }
  await Promise.all([...sharding, ...plain, stale].map((c) => c.close()));
} finally {
  await store.close();
  for (const c of children) c.kill();
}
