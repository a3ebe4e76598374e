/**
 * One of Bundler's boxes for `scripts/bundler-netns.sh`, as a UDP relay
 * (@bertha/ccp-lab's `startSendboxRelay` / `startReceiveboxRelay`): prints
 * `ready` once it listens, runs until SIGTERM or SIGINT, then prints its
 * counters as one JSON line and exits. The sendbox's `--trace FILE` writes
 * each epoch estimate as a tab-separated line (ms since start, RTT ms,
 * send and receive Mbit/s, the agent's window in KB and rate in Mbit/s,
 * the queue in KB).
 *
 *   tsx scripts/netns/bundler-box.ts sendbox --listen H:P --receivebox H:P --scheduler sfq|fifo --buffer-bytes N [--trace FILE]
 *   tsx scripts/netns/bundler-box.ts receivebox --listen H:P --target H:P
 */
import { createWriteStream } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startReceiveboxRelay, startSendboxRelay, type SendboxRelay, type Udp4Address } from '@bertha/ccp-lab';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string' },
    receivebox: { type: 'string' },
    target: { type: 'string' },
    scheduler: { type: 'string', default: 'sfq' },
    'buffer-bytes': { type: 'string' },
    trace: { type: 'string' },
  },
});

function address(flag: string, v: string | undefined): Udp4Address {
  const m = /^(.+):(\d+)$/.exec(v ?? '');
  if (m === null) throw new Error(`bundler-box.ts: --${flag} HOST:PORT is required, got '${v ?? ''}'`);
  return { host: m[1]!, port: Number(m[2]) };
}

// How late this process's event loop ran: lateness here is RTT the sendbox measures that no queue caused.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const loopReport = (): { loopDelayMs: { p50: number; p99: number; max: number } } => ({
  loopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
});

const role = positionals[0];
let report: () => object;
let close: () => Promise<void>;
if (role === 'sendbox') {
  let estimates = 0;
  let rttSumUs = 0;
  const trace = values.trace === undefined ? undefined : createWriteStream(values.trace);
  const t0 = performance.now();
  const relay: SendboxRelay = await startSendboxRelay({
    listen: address('listen', values.listen),
    receivebox: address('receivebox', values.receivebox),
    scheduler: values.scheduler === 'fifo' ? 'fifo' : 'sfq',
    bufferBytes: Number(values['buffer-bytes']),
    onEstimate: (e) => {
      estimates++;
      rttSumUs += e.rttUs;
      const box = relay.sendbox;
      const f = (x: number): string => x.toFixed(2);
      trace?.write([performance.now() - t0, e.rttUs / 1000, e.sendRate * 8e-6, e.recvRate * 8e-6, box.cwnd / 1000, box.queue.rate * 8e-6, box.queue.scheduler.bytes / 1000].map(f).join('\t') + '\n');
    },
  });
  report = () => ({
    ...relay.stats,
    drops: relay.sendbox.stats.drops,
    periodChanges: relay.sendbox.stats.periodChanges,
    epochs: relay.sendbox.meter.stats,
    estimates,
    meanRttMs: estimates > 0 ? rttSumUs / estimates / 1000 : null,
    minRttMs: relay.sendbox.meter.minRttUs / 1000,
  });
  close = async () => {
    trace?.end();
    await relay.close();
  };
} else if (role === 'receivebox') {
  const relay = await startReceiveboxRelay({ listen: address('listen', values.listen), target: address('target', values.target) });
  report = () => ({ ...relay.stats, ...relay.receivebox.stats });
  close = () => relay.close();
} else {
  throw new Error(`bundler-box.ts: the first argument must be sendbox or receivebox, got '${role ?? ''}'`);
}

const stop = (): void => {
  console.log(JSON.stringify({ ...report(), ...loopReport() }));
  void close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log('ready');
