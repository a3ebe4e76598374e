/**
 * `anywhere`: write once, run anywhere. The same Cubic and Copa (the agent's
 * algorithms, the same datapath programs, the same transport) run on the
 * simulator and on real UDP sockets over loopback, where `emulatedLink`
 * imposes the same rate, delay and buffer on the sender's packets. The cwnd
 * traces should have the same shape; the real one carries the noise of
 * timers and the event loop.
 */
import { udp } from '@bertha/core';
import { emulatedLink } from '../link/emulated-link.js';
import type { LinkOptions } from '../link/link.js';
import type { LineSeries } from '../plot/charts.js';
import { ccpTransport, realClock, type TransportSample } from '@bertha/ccp';
import { bdpBytes, durationUs, mean, MSS, runs } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { BinnedCounter, values } from './metrics.js';
import { runScenario } from './run-scenario.js';
import type { RunControl } from './scenario.js';

const RATE_BPS = 12e6;
const RTT_US = 20_000;
const SAMPLE_US = 5_000;
const BIN_US = 100_000;
const ALGORITHMS = ['cubic', 'copa'] as const;
/** IPv4 + UDP headers, counted on the emulated link as on a real one. */
const OVERHEAD = 28;

interface Trace {
  readonly cwnd: (readonly [number, number])[];
  readonly throughputMbps: (readonly [number, number])[];
  readonly deliveredBytes: number;
  readonly meanRttMs: number;
}

const bottleneck = (): LinkOptions => ({ rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: bdpBytes(RATE_BPS, RTT_US) });

async function onSimulator(algorithm: string, duration: number, seed: number | undefined, control: RunControl): Promise<Trace> {
  const r = await runScenario({ bottleneck: bottleneck(), flows: [{ cc: { kind: 'ccp', algorithm } }], durationUs: duration, binUs: BIN_US, sampleUs: SAMPLE_US, seed }, control);
  const f = r.flows[0]!;
  return {
    cwnd: f.samples.map((s) => [s.atUs / 1e6, s.cwnd / MSS] as const),
    throughputMbps: f.delivered.rateMbps(duration),
    deliveredBytes: f.deliveredBytes,
    meanRttMs: mean(f.samples.map((s) => s.rttUs / 1000)),
  };
}

/**
 * A bulk transfer on loopback UDP for `duration` µs of wall time: the sender's
 * datagrams cross an emulated bottleneck, the receiver's ACKs a pure delay.
 */
async function onUdp(algorithm: string, duration: number, control: RunControl): Promise<Trace> {
  const clock = realClock();
  const transport = udp();
  const listener = await transport.listen({ host: '127.0.0.1', port: 0 });
  const client = await transport.connect(listener.address);
  const samples: TransportSample[] = [];
  let next = 0;
  let t0 = clock.now();
  const sender = await ccpTransport({
    clock,
    // A small send buffer keeps the writer close to the window; the run ends at its deadline, not when the backlog drains.
    sendBufferBytes: 256 * 1024,
    lingerUs: 0,
    cc: { kind: 'ccp', algorithm },
    onSample: (s) => {
      if (s.tUs < next) return;
      next = s.tUs + SAMPLE_US;
      samples.push(s);
    },
  }).connectWrap(emulatedLink(client, { ...bottleneck(), overheadBytes: OVERHEAD }, clock), { role: 'client' });
  // The listener accepts the peer at its first datagram: start waiting before sending.
  const accepted = listener.accept();
  const payload = new Uint8Array(MSS);
  await sender.send(payload);
  const receiver = await ccpTransport({ clock, cc: { kind: 'native', algorithm: 'reno' } }).connectWrap(emulatedLink(await accepted, { delayUs: RTT_US / 2, overheadBytes: OVERHEAD }, clock), { role: 'server' });
  t0 = clock.now();
  const delivered = new BinnedCounter(BIN_US, t0);
  let bytes = 0;
  const receiving = (async () => {
    try {
      for (;;) {
        const m = await receiver.recv();
        delivered.add(clock.now(), m.byteLength);
        bytes += m.byteLength;
      }
    } catch {
      // Closed at the end of the run.
    }
  })();
  const batch = Array.from({ length: 64 }, () => payload);
  while (clock.now() - t0 < duration) {
    control.signal?.throwIfAborted();
    // Blocks while the transport's send buffer is full: the window paces the loop.
    await sender.sendBatch(batch);
    control.onProgress?.(Math.min(1, (clock.now() - t0) / duration));
  }
  const end = clock.now();
  await Promise.all([sender.close(), receiver.close(), listener.close()]);
  await receiving;
  const inRun = samples.filter((s) => s.tUs >= t0 && s.tUs <= end);
  return {
    cwnd: inRun.map((s) => [(s.tUs - t0) / 1e6, s.cwnd / MSS] as const),
    throughputMbps: delivered.rateMbps(end),
    deliveredBytes: bytes,
    meanRttMs: mean(inRun.map((s) => s.srttUs / 1000)),
  };
}

export const anywhereExperiment: Experiment = {
  name: 'anywhere',
  description: 'the same Cubic and Copa on the simulator and on real UDP sockets (loopback, emulated 12 Mbit/s, 20 ms): cwnd over time',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const duration = durationUs(opts, 10, 2);
    const progress = runs(opts, ALGORITHMS.length * 2);
    const rows: (string | number)[][] = [];
    const series: LineSeries[] = [];
    const data: Record<string, unknown> = {};
    for (const algorithm of ALGORITHMS) {
      const sim = await onSimulator(algorithm, duration, opts.seed, progress.next());
      const real = await onUdp(algorithm, duration, progress.next());
      for (const [where, t] of [
        ['simulator', sim],
        ['UDP sockets', real],
      ] as const) {
        rows.push([algorithm, where, (t.deliveredBytes * 8) / duration, mean(values(t.cwnd)), t.meanRttMs]);
        series.push({ name: `${algorithm}, ${where}`, points: t.cwnd });
      }
      data[algorithm] = { simulator: sim, udp: real };
    }
    return {
      experiment: 'anywhere',
      params: { rateMbps: RATE_BPS / 1e6, rttMs: RTT_US / 1000, bufferBdp: 1, durationS: duration / 1e6, seed: opts.seed ?? 1 },
      table: { columns: ['algorithm', 'where', 'goodput (Mbit/s)', 'mean cwnd (packets)', 'mean srtt (ms)'], rows },
      data,
      charts: [{ name: 'cwnd', kind: 'line', spec: { title: 'Same code, simulator and UDP sockets: cwnd', x: { label: 'time (s)' }, y: { label: 'cwnd (packets)' }, series, step: true } }],
    };
  },
};
