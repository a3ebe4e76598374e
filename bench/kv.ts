/**
 * The sharded key-value store under YCSB workload B (95 % reads, 5 %
 * updates, zipfian keys, 132-byte writes; 12,000 records loaded), open
 * loop, latency from each operation's scheduled send time. Five kinds of
 * client, all on the same 6 shard worker threads (the servers run in a
 * worker thread of their own, as on another host):
 *
 * - client sharding: the store's client library, negotiated, sending each
 *   request straight to its shard;
 * - hand-written: the same application with no Chunnels and no
 *   negotiation, on the same shard sockets (the baseline of the above);
 * - server sharding: the canonical server's deserializing sharder forwards
 *   over the shards' MessagePorts (in-process channel);
 * - server sharding over UDP, deserializing and raw-offset: the sharder
 *   forwards over UDP, as to shards across a link.
 *
 * An offered-load sweep draws the throughput–latency curves (SVG); then
 * `reps` rounds at the highest offered load, the kinds interleaved in a
 * rotating order, give the saturation ratios (median of per-round ratios,
 * with p25–p75).
 *
 *   pnpm bench kv [rates=2000,4000,8000,16000,32000] [seconds=1.5] [reps=3]
 *
 * `sudo scripts/kv-netns.sh bench …` runs it with the shards as processes
 * in another network namespace, across a veth link (every sharder then
 * forwards over UDP, "server sharding" included).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { udp } from '@bertha/core';
import { decodeKey, keyFirstLayout, rawKey } from '@bertha/chunnels-shard';
import { KvClient } from '../examples/kv/client.js';
import { encodeRequest } from '../examples/kv/protocol.js';
import { Workload, keyOf, type KvRequester, type RunResult } from '../examples/kv/ycsb.js';
import { BaselineClient } from './lib/kv-baseline.js';
import { curvesSvg } from './lib/kv-plot.js';
import type { KvServerData, KvServers } from './lib/kv-server.js';
import { percentile, report, result, type Result } from './lib/results.js';
import { startWorker } from './lib/worker.js';

const rates = (process.argv[2] ?? '2000,4000,8000,16000,32000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 1.5);
const reps = Number(process.argv[4] ?? 3);
/** 5 clients × 4 connections in the published evaluation; here one process drives them. */
const CONNECTIONS = 8;
const RECORDS = 12_000;

/** scripts/kv-netns.sh: shards in another namespace (`host:port,…`), and the address of this end. */
const serverData: KvServerData = {
  ...(process.env.KV_SHARDS ? { shards: process.env.KV_SHARDS.split(',').map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) })) } : {}),
  ...(process.env.KV_HOST ? { host: process.env.KV_HOST } : {}),
};
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

/**
 * Where a sharder's time goes, the part the raw pass changes: finding the
 * shard of one 132-byte write, by decoding it vs at the fixed offset
 * (interleaved rounds of 100,000 messages, after a warm-up round each).
 */
function keyLookupNs(): { raw: number[]; decoding: number[] } {
  const serialized = Array.from({ length: 1000 }, (_, i) => encodeRequest({ key: keyOf(i), op: 'put', id: 70_000 + i, value: `1|${'x'.repeat(78)}` }));
  const readers = { raw: rawKey(keyFirstLayout('key')), decoding: decodeKey('key') };
  const out = { raw: [] as number[], decoding: [] as number[] };
  let sink = 0;
  for (let round = 0; round < 6; round++) {
    for (const name of ['raw', 'decoding'] as const) {
      const t0 = performance.now();
      for (let i = 0; i < 100_000; i++) sink += readers[name].shard(serialized[i % 1000]!, 6);
      if (round > 0) out[name].push(((performance.now() - t0) * 1e6) / 100_000);
    }
  }
  if (sink < 0) console.log(sink);
  return out;
}
const lookup = keyLookupNs();

const { worker, ready: servers } = await startWorker<KvServers>(new URL('./lib/kv-server.ts', import.meta.url), serverData);
const policy = { transport: udp({ recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }), shards: servers.shards, keyField: 'key' };
const many = <T>(f: () => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: CONNECTIONS }, f));

const kinds: Record<string, { clients: KvRequester[]; close: () => Promise<void>; stack: string }> = {};
async function kind(name: string, make: () => Promise<KvClient[]>): Promise<void> {
  const clients = await make();
  kinds[name] = { clients, close: () => Promise.all(clients.map((c) => c.close())).then(() => undefined), stack: clients[0]!.negotiation!.stack.join(' → ') };
}
await kind('client sharding', () => many(() => KvClient.connect(servers.port, { policy })));
const baseline = await many(() => BaselineClient.connect(servers.shards));
kinds['hand-written'] = { clients: baseline, close: async () => baseline.forEach((b) => b.close()), stack: 'none (dgram sockets)' };
await kind('server sharding', () => many(() => KvClient.connect(servers.port)));
await kind('server sharding, UDP', () => many(() => KvClient.connect(servers.udpDeserializing)));
await kind('server sharding, UDP, raw', () => many(() => KvClient.connect(servers.udpRaw)));
for (const [name, k] of Object.entries(kinds)) console.log(`${name.padEnd(26)} ${k.stack}`);
const names = Object.keys(kinds);

const workload = new Workload({ records: RECORDS });
await workload.load(kinds['client sharding']!.clients);
console.log(`loaded ${RECORDS.toLocaleString('en')} records`);

const runs: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]));
/** A run, and how busy the servers' thread (canonical server, sharders) and this one (the clients) were. */
interface Measured extends RunResult {
  readonly serverBusy: number;
  readonly clientBusy: number;
}
async function measure(name: string, rate: number, ms: number): Promise<Measured> {
  const server0 = worker.performance.eventLoopUtilization();
  const client0 = performance.eventLoopUtilization();
  const r = await workload.run(kinds[name]!.clients, rate, ms);
  const serverBusy = worker.performance.eventLoopUtilization(server0).utilization;
  const clientBusy = performance.eventLoopUtilization(client0).utilization;
  if (r.invalid > 0) throw new Error(`${name}: ${r.invalid} replies broke read-your-acknowledged-writes`);
  // Requests that timed out may still sit in socket buffers: let them drain before the next run.
  if (r.timeouts > 0) await sleep(1000);
  return { ...r, serverBusy, clientBusy };
}
const pct = (x: number): string => `${(x * 100).toFixed(0).padStart(3)} %`;
const line = (name: string, r: Measured): string =>
  `${name.padEnd(26)} offered ${String(r.offered).padStart(6)}  achieved ${r.achieved.toFixed(0).padStart(6)}  p50 ${r.p50.toFixed(2).padStart(8)} ms  p99 ${r.p99.toFixed(2).padStart(8)} ms  ` +
  `timeouts ${String(r.timeouts).padStart(5)}  busy: sharder thread ${pct(r.serverBusy)}, client thread ${pct(r.clientBusy)}`;

// Warm-up: V8 optimizes each kind's path before anything is measured.
for (const name of names) await measure(name, 2000, 1000);

for (const [i, rate] of rates.entries()) {
  // A rotating order, so that no kind always runs right after the same other one.
  for (let j = 0; j < names.length; j++) {
    const name = names[(i + j) % names.length]!;
    const r = await measure(name, rate, seconds * 1000);
    runs[name]!.push(r);
    console.log(line(name, r));
  }
}

const top = Math.max(...rates);
const atTop: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let rep = 0; rep < reps; rep++) {
  for (let j = 0; j < names.length; j++) {
    const name = names[(rep + j) % names.length]!;
    const r = await measure(name, top, seconds * 1000);
    atTop[name]!.push(r.achieved);
    console.log(`rep ${rep + 1}: ${line(name, r)}`);
  }
}
worker.postMessage('stats');
const sharderStats = await new Promise<unknown>((resolve) => worker.once('message', resolve));
console.log('sharders:', JSON.stringify(sharderStats));
await Promise.all(Object.values(kinds).map((k) => k.close()));
await worker.terminate();

function ratioRow(subject: string, base: string, what: string): Result {
  const ratios = atTop[subject]!.map((v, i) => v / atTop[base]![i]!).sort((a, b) => a - b);
  const spread = `median of ${reps} rounds ${percentile(ratios, 50).toFixed(2)}×, p25–p75 ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)}`;
  return result(`kv YCSB-B ops/s at ${top.toLocaleString('en')} offered (saturation): ${subject} vs ${base} — ${what} (${spread})`, median(atTop[subject]!), median(atTop[base]!), 'ops/s');
}
const lookupRatios = lookup.raw.map((r, i) => r / lookup.decoding[i]!).sort((a, b) => a - b);
const results: Result[] = [
  result(
    `kv sharder key lookup ns per 132-byte message: raw offset vs deserializing (median of ${lookup.raw.length} rounds ${percentile(lookupRatios, 50).toFixed(2)}×, p25–p75 ${percentile(lookupRatios, 25).toFixed(2)}–${percentile(lookupRatios, 75).toFixed(2)})`,
    median(lookup.raw),
    median(lookup.decoding),
    'ns',
  ),
  ratioRow('client sharding', 'server sharding', 'target ≥ 1.5'),
  ratioRow('server sharding, UDP, raw', 'server sharding, UDP', 'shards across a link, target ≥ 1.3'),
  ratioRow('client sharding', 'hand-written', 'Bertha vs no Chunnels on the same sockets, target ≥ 0.95'),
];
/** What each kind is compared with in the per-point rows. */
const baseOf: Record<string, string> = {
  'client sharding': 'hand-written',
  'server sharding': 'client sharding',
  'server sharding, UDP': 'server sharding',
  'server sharding, UDP, raw': 'server sharding, UDP',
};
for (const [i, rate] of rates.entries()) {
  for (const name of Object.keys(baseOf)) {
    const r = runs[name]![i]!;
    const b = runs[baseOf[name]!]![i]!;
    results.push(result(`kv YCSB-B achieved ops/s at ${rate} offered: ${name} vs ${baseOf[name]}`, r.achieved, b.achieved, 'ops/s'));
    results.push(result(`kv YCSB-B p50 latency at ${rate} offered: ${name} vs ${baseOf[name]}`, r.p50, b.p50, 'ms'));
    results.push(result(`kv YCSB-B p99 latency at ${rate} offered: ${name} vs ${baseOf[name]}`, r.p99, b.p99, 'ms'));
  }
}
report('kv', results);
const svg = join(process.cwd(), 'bench-results', 'kv.svg');
writeFileSync(
  svg,
  curvesSvg(
    `YCSB-B on 6 shards, offered ${rates[0]}–${top} ops/s (open loop)`,
    'achieved throughput (ops/s)',
    'p99 latency (ms, from scheduled send)',
    names.map((n) => ({ name: n, points: runs[n]!.map((r) => ({ x: r.achieved, y: r.p99 })) })),
  ),
);
console.log(`wrote ${svg}`);
