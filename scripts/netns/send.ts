/**
 * The sending end of `scripts/netns-compare.sh`: one backlogged flow to the
 * sink for `--warmup` + `--seconds`, then one tab-separated line on stdout:
 * algorithm, goodput (Mbit/s), min RTT (ms), mean SRTT (ms), loss events.
 * `--trace FILE` also writes the flow's probe every 20 ms from its start
 * (ms since start, acked bytes, cwnd bytes, SRTT µs, losses), to see where
 * losses happen (slow start or later).
 *
 *   tsx scripts/netns/send.ts --kind tcp|ccp|native --algorithm cubic --host H --port P [--trace FILE]
 */
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { CongestionControlOptions } from '@bertha/ccp';
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

let flow: BulkFlow;
if (kind === 'tcp') flow = await startTcpFlow(host, port);
else if (kind === 'ccp' || kind === 'native') flow = await startTransportFlow(host, port, transportCc(), Number(values.mss));
else throw new Error(`send.ts: --kind must be tcp, ccp or native, got ${kind}`);

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
