/**
 * The sending site's requests for `scripts/bundler-netns.sh`: the
 * heavy-tailed workload of `ccp-sim bundler` (@bertha/ccp-lab's
 * `heavyTailedRequests`), each request one CCP transport flow over UDP
 * (native Cubic, as the simulator's endhosts) to `--host:--port` (the sink,
 * or the sendbox relay in front of it). A request is complete when its last
 * byte is acknowledged (`close()` lingers until then).
 *
 *   tsx scripts/netns/bundler-client.ts alone --host H --port P [workload flags] > alone.json
 *   tsx scripts/netns/bundler-client.ts run --alone alone.json --host H --port P [workload flags]
 *
 * `alone` runs one request per alone key (`aloneKey`) by itself, one after
 * another (the fastest of three tries), and prints their completion times
 * as JSON. `run` starts every
 * request at its time, waits for the arrivals plus `--drain` seconds, and
 * prints one tab-separated line: finished/total, median and p99 slowdown,
 * median slowdown of requests ≤ 10 KB and of larger ones, and the p99 of
 * the client's own event-loop delay in ms.
 * Workload flags: --load-mbit, --rate-mbit (the bottleneck, for the alone
 * estimate of large requests), --seconds, --max-bytes, --seed, --mss.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { udp } from '@bertha/core';
import { ccpTransport } from '@bertha/ccp';
import { aloneFct, aloneKey, heavyTailedRequests, percentileOf, sorted } from '@bertha/ccp-lab';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    alone: { type: 'string' },
    'load-mbit': { type: 'string', default: '10.5' },
    'rate-mbit': { type: 'string', default: '12' },
    seconds: { type: 'string', default: '10' },
    drain: { type: 'string', default: '10' },
    'max-bytes': { type: 'string', default: '3000000' },
    seed: { type: 'string', default: '1' },
    mss: { type: 'string', default: '1400' },
  },
});
const host = values.host;
const port = Number(values.port);
if (host === undefined || !(port > 0)) throw new Error('bundler-client.ts: --host and --port are required');
const mss = Number(values.mss);
const rateBps = Number(values['rate-mbit']) * 1e6;
const requests = heavyTailedRequests({
  loadBps: Number(values['load-mbit']) * 1e6,
  durationUs: Number(values.seconds) * 1e6,
  maxBytes: Number(values['max-bytes']),
  seed: Number(values.seed),
});
const ALONE_TRIES = 3;
const transport = ccpTransport({ cc: { kind: 'native', algorithm: 'cubic' }, mss, lingerUs: 120_000_000 });

/** One request; its completion time in µs, or undefined if the transport gave up. */
async function request(bytes: number): Promise<number | undefined> {
  const t0 = performance.now();
  const base = await udp().connect({ host: host!, port });
  const conn = await transport.connectWrap(base, { role: 'client' });
  const chunks: Uint8Array[] = [];
  for (let left = bytes; left > 0; left -= mss) chunks.push(new Uint8Array(Math.min(mss, left)));
  try {
    for (let i = 0; i < chunks.length; i += 256) await conn.sendBatch(chunks.slice(i, i + 256));
    await conn.close();
    return (performance.now() - t0) * 1000;
  } catch {
    await conn.close().catch(() => undefined);
    return undefined;
  }
}

if (positionals[0] === 'alone') {
  const keys = [...new Set(requests.map((r) => aloneKey(Math.ceil(r.bytes / mss))))].sort((a, b) => a - b);
  const alone: Record<number, number> = {};
  // The fastest of a few tries: on a shared machine a stall of this process would otherwise count as the network's.
  for (const k of keys) {
    let best = Infinity;
    for (let i = 0; i < ALONE_TRIES; i++) {
      best = Math.min(best, (await request(k * mss)) ?? Infinity);
      await sleep(50);
    }
    alone[k] = best;
  }
  console.log(JSON.stringify(alone));
  process.exit(0);
} else if (positionals[0] === 'run' && values.alone !== undefined) {
  const alone = JSON.parse(readFileSync(values.alone, 'utf8')) as Record<string, number>;
  const fct: (number | undefined)[] = requests.map(() => undefined);
  // A client that runs late starts and acknowledges late: its loop delay says how much of the slowdown is this machine's.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const t0 = performance.now();
  const done = requests.map(async (r, i) => {
    await sleep(r.startUs / 1000 - (performance.now() - t0));
    fct[i] = await request(r.bytes);
  });
  await Promise.race([Promise.all(done), sleep((Number(values.seconds) + Number(values.drain)) * 1000)]);
  const slowdowns = (pick: (bytes: number) => boolean): number[] =>
    sorted(requests.flatMap((r, i) => (fct[i] !== undefined && pick(r.bytes) ? [fct[i] / aloneFct(r.bytes, mss, rateBps, (k) => alone[k]!)] : [])));
  const all = slowdowns(() => true);
  const f = (x: number): string => x.toFixed(2);
  console.log([`${all.length}/${requests.length}`, f(percentileOf(all, 50)), f(percentileOf(all, 99)), f(percentileOf(slowdowns((b) => b <= 10_000), 50)), f(percentileOf(slowdowns((b) => b > 10_000), 50)), f(loopDelay.percentile(99) / 1e6)].join('\t'));
  process.exit(0);
} else {
  throw new Error('bundler-client.ts: the first argument must be alone, or run with --alone FILE');
}
