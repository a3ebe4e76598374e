/**
 * The CCP transport on loopback UDP (GitHub issue 5): goodput of one bulk
 * flow, CCP-driven against the transport's native Reno and Cubic in the same
 * run. Targets: CCP ≥ 0.97× native with per-RTT reports, ≥ 0.8× with per-ACK
 * reports, and single-flow goodput ≥ 1 Gbit/s — measured at the default
 * 1448-byte MSS (a 1500-byte MTU) and at 8192 bytes, which loopback's 64 KiB
 * MTU allows and which is where Node's per-datagram cost stops dominating.
 * Beside goodput, the CPU time of both ends per GB (`process.cpuUsage`, the
 * receiver's thread included), which a loaded machine moves less.
 * The receiver runs in a worker
 * thread so both ends have a core; every round runs all configurations back
 * to back so machine noise hits them alike; a row's ratio is the median of
 * its per-round ratios, with their p25–p75 (lib/paired.ts).
 *
 *   pnpm bench transport [--quick] [--seconds 3] [--rounds 5]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { udp, type SocketAddress } from '@bertha/core';
import { builtinAlgorithms, ccpTransport, type CongestionControlOptions } from '@bertha/ccp';
import { pairedResult } from './lib/paired.js';
import { report, type Result } from './lib/results.js';
import { startWorker } from './lib/worker.js';

const MSS = 1448;
const LOOPBACK_MSS = 8192;
const WARMUP_MS = 500;

const CONFIGS = {
  'native reno': { kind: 'native', algorithm: 'reno' },
  'native cubic': { kind: 'native', algorithm: 'cubic' },
  'CCP reno, per-RTT reports': { kind: 'ccp', algorithm: 'reno' },
  'CCP cubic, per-RTT reports': { kind: 'ccp', algorithm: 'cubic' },
  'CCP reno, per-ACK reports': { kind: 'ccp', algorithm: 'reno', algorithms: builtinAlgorithms({ report: 'ack' }) },
  'CCP cubic, per-ACK reports': { kind: 'ccp', algorithm: 'cubic', algorithms: builtinAlgorithms({ report: 'ack' }) },
} satisfies Record<string, CongestionControlOptions>;
type ConfigName = keyof typeof CONFIGS;

/** Asks the receiver how many bytes it has from the client on `port`. */
function bytesFrom(worker: Worker, port: number): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { port: number; bytes: number }): void => {
      if (m.port !== port) return;
      worker.off('message', on);
      resolve(m.bytes);
    };
    worker.on('message', on);
    worker.postMessage({ bytesFrom: port });
  });
}

interface Transfer {
  /** Goodput at the receiver, bit/s. */
  readonly bps: number;
  /** CPU time (user + system) of both ends (the process and its receiver thread) per GB received, s. */
  readonly cpuPerGB: number;
}

/** One bulk transfer of `seconds` after a warm-up. */
async function transfer(worker: Worker, addr: SocketAddress, cc: CongestionControlOptions, seconds: number, mss = MSS): Promise<Transfer> {
  const base = await udp({ recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 }).connect(addr);
  const conn = await ccpTransport({ cc, mss, sendBufferBytes: 1 << 20, lingerUs: 0 }).connectWrap(base, { role: 'client' });
  const batch = Array.from({ length: 64 }, () => new Uint8Array(mss));
  const port = base.local.port;
  const start = performance.now();
  let t0 = 0;
  let b0 = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  while (performance.now() - start < WARMUP_MS + seconds * 1000) {
    await conn.sendBatch(batch);
    if (t0 === 0 && performance.now() - start >= WARMUP_MS) {
      t0 = performance.now();
      b0 = await bytesFrom(worker, port);
      cpu0 = process.cpuUsage();
    }
  }
  const b1 = await bytesFrom(worker, port);
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await conn.close();
  return { bps: ((b1 - b0) * 8) / ((t1 - t0) / 1000), cpuPerGB: (cpu.user + cpu.system) / 1e6 / ((b1 - b0) / 1e9) };
}

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, seconds: { type: 'string' }, rounds: { type: 'string' } },
});
const seconds = Number(values.seconds ?? (values.quick ? 1 : 3));
const rounds = Number(values.rounds ?? (values.quick ? 3 : 5));

const { worker, ready: addr } = await startWorker<SocketAddress>(new URL('./lib/transport-receiver.ts', import.meta.url), {});
const samples = Object.fromEntries(Object.keys(CONFIGS).map((k) => [k, [] as number[]])) as Record<ConfigName, number[]>;
const large: number[] = [];
// CPU per GB of CCP Reno at each mss: what the per-datagram costs add, less load-sensitive than goodput.
const cpuSmall: number[] = [];
const cpuLarge: number[] = [];
const line = (round: number, name: string, t: Transfer): void =>
  console.log(`round ${round + 1}/${rounds}  ${name.padEnd(28)} ${(t.bps / 1e6).toFixed(0).padStart(6)} Mbit/s  ${t.cpuPerGB.toFixed(2).padStart(6)} CPU s/GB`);
try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, cc] of Object.entries(CONFIGS) as [ConfigName, CongestionControlOptions][]) {
      const t = await transfer(worker, addr, cc, seconds);
      samples[name].push(t.bps);
      if (name === 'CCP reno, per-RTT reports') cpuSmall.push(t.cpuPerGB);
      line(round, name, t);
    }
    const t = await transfer(worker, addr, CONFIGS['CCP reno, per-RTT reports'], seconds, LOOPBACK_MSS);
    large.push(t.bps);
    cpuLarge.push(t.cpuPerGB);
    line(round, `CCP reno, mss ${LOOPBACK_MSS}`, t);
  }
} finally {
  worker.postMessage({ stop: true });
}
const mbps = (xs: number[]): number[] => xs.map((x) => x / 1e6);
const target = (xs: number[]): number[] => xs.map(() => 1000);
const results: Result[] = [];
for (const alg of ['reno', 'cubic'] as const) {
  const native = mbps(samples[`native ${alg}`]);
  results.push(
    pairedResult(`CCP ${alg}, per-RTT reports vs native ${alg} (target ≥ 0.97×)`, mbps(samples[`CCP ${alg}, per-RTT reports`]), native, 'Mbit/s'),
    pairedResult(`CCP ${alg}, per-ACK reports vs native ${alg} (target ≥ 0.8×)`, mbps(samples[`CCP ${alg}, per-ACK reports`]), native, 'Mbit/s'),
  );
}
// Each round's best configuration against the target.
const best = Array.from({ length: rounds }, (_, r) => Math.max(...(Object.keys(CONFIGS) as ConfigName[]).map((k) => samples[k][r]!)));
results.push(pairedResult(`single-flow goodput on loopback, mss ${MSS}, best configuration vs the 1 Gbit/s target`, mbps(best), target(best), 'Mbit/s'));
results.push(pairedResult(`single-flow goodput on loopback, CCP reno, mss ${LOOPBACK_MSS} vs the 1 Gbit/s target`, mbps(large), target(large), 'Mbit/s'));
results.push(pairedResult(`single-flow CPU time per GB on loopback, both ends, CCP reno, mss ${MSS} vs mss ${LOOPBACK_MSS}`, cpuSmall, cpuLarge, 's/GB'));
report('transport', results);
