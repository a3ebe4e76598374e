/**
 * The sending end of `scripts/netns-compare.sh`: one backlogged flow to the
 * sink for `--warmup` + `--seconds`, then one tab-separated line on stdout:
 * algorithm, goodput (Mbit/s), min RTT (ms), mean SRTT (ms), loss events.
 * `--trace FILE` also writes the flow's probe every 20 ms from its start
 * (ms since start, acked bytes, cwnd bytes, SRTT µs, losses), to see where
 * losses happen (slow start or later).
 *
 * `--jit-warmup S` first runs the same kind of flow for S seconds to a drain
 * on this namespace's loopback, so V8 has optimized the sender's code before
 * the measured flow starts: a cold sender's first rounds stall for 5–30 ms,
 * which slow start then misreads (Linux TCP's sender is kernel code and
 * needs no warming).
 *
 *   tsx scripts/netns/send.ts --kind tcp|ccp|native --algorithm cubic --host H --port P [--trace FILE] [--jit-warmup S]
 */
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { CongestionControlOptions } from '@bertha/ccp';
import { startDrain } from './drain.js';
import { measure, type BulkFlow } from './flow.js';
import { startTcpFlow } from './tcp-flow.js';
import { startTransportFlow } from './transport-flow.js';

const { values } = parseArgs({
  options: {
    kind: { type: 'string' },
    algorithm: { type: 'string', default: 'cubic' },
    host: { type: 'string' },
    port: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    mss: { type: 'string', default: '1448' },
    trace: { type: 'string' },
    'jit-warmup': { type: 'string', default: '0' },
  },
});
const { kind, algorithm, host } = values;
const port = Number(values.port);
if (host === undefined || !Number.isInteger(port)) throw new Error('send.ts: --host and --port are required');

function transportCc(): CongestionControlOptions {
  if (kind === 'ccp') return { kind: 'ccp', algorithm };
  if (algorithm !== 'reno' && algorithm !== 'cubic') throw new Error(`send.ts: native algorithms are reno and cubic, got ${algorithm}`);
  return { kind: 'native', algorithm };
}

function startFlow(to: string, tcpPort: number, udpPort: number): Promise<BulkFlow> {
  if (kind === 'tcp') return startTcpFlow(to, tcpPort);
  if (kind === 'ccp' || kind === 'native') return startTransportFlow(to, udpPort, transportCc(), Number(values.mss));
  throw new Error(`send.ts: --kind must be tcp, ccp or native, got ${kind}`);
}

const jitWarmupMs = Number(values['jit-warmup']) * 1000;
if (jitWarmupMs > 0) {
  const drain = await startDrain('127.0.0.1', 0, 0);
  const warm = await startFlow('127.0.0.1', drain.tcpPort, drain.udpPort);
  await sleep(jitWarmupMs);
  await warm.close();
  await drain.close();
}

const flow = await startFlow(host, port, port);

let tracing = values.trace !== undefined;
const traced = (async () => {
  if (values.trace === undefined) return;
  const out = createWriteStream(values.trace);
  const t0 = performance.now();
  while (tracing) {
    const p = await flow.probe();
    out.write(`${(performance.now() - t0).toFixed(0)}\t${p.ackedBytes}\t${p.cwndBytes}\t${p.srttUs.toFixed(0)}\t${p.lossEvents}\n`);
    await sleep(20);
  }
  out.end();
})();

try {
  const m = await measure(flow, { warmupMs: Number(values.warmup) * 1000, windowMs: Number(values.seconds) * 1000 });
  console.log([m.algorithm, m.goodputMbps.toFixed(1), m.minRttMs.toFixed(2), m.meanSrttMs.toFixed(2), m.lossEvents].join('\t'));
} finally {
  tracing = false;
  await traced;
  await flow.close();
}
