/**
 * Overhead of Chunnel layers: a stack of 1 and of 5 no-op Chunnels over TCP,
 * Unix and UDP, with 1 and 64 connections. Goodput of a 50 MB transfer and
 * p50/p99 of an 8-byte echo. Each stack is compared three times: with our
 * base connection and no Chunnel (what the layers cost); on streams, with
 * what a user would pick instead of us — the better (by median) of
 * length-prefix framing written by hand over `net.Socket` and
 * it-length-prefixed — which our base connection is compared with too; and
 * with the raw socket that only counts bytes (the physical limit: a framed
 * message must be cut out of the socket's reads, which a byte counter never
 * does). Every repetition runs all modes back to back in a rotating order
 * after a warm-up round; a row's ratio is the median of its per-repetition
 * ratios, with their p25–p75 (lib/paired.ts). Servers run in a worker thread
 * so both ends get a core.
 *
 *   pnpm bench overhead [--quick] [--kind tcp|unix|udp]… [--conns N]…
 */
import { parseArgs } from 'node:util';
import { dial, modesFor, type Kind, type Link, type Mode, type PeerReady } from './lib/overhead-links.js';
import { median, pairedResult } from './lib/paired.js';
import { percentile, report, type Result } from './lib/results.js';
import { startWorker } from './lib/worker.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    kind: { type: 'string', multiple: true, default: ['tcp', 'unix', 'udp'] },
    conns: { type: 'string', multiple: true, default: ['1', '64'] },
  },
});
const TOTAL = values.quick ? 10e6 : 50e6;
// A 50 MB loopback transfer lasts tens of ms and this VM is noisy: goodput needs many runs for a stable median.
const REPS = values.quick ? 7 : 21;
const STREAM_CHUNK = 64 * 1024;
const DGRAM = 8 * 1024;
/**
 * Datagrams a UDP link may have unacknowledged: 64 for one link, fewer per
 * link for many so that all of them together (2 MB) fit the receiver's socket
 * buffer; overflowing it made goodput with 64 links a lottery of lost acks.
 */
const windowFor = (conns: number): number => Math.min(64, Math.max(4, Math.floor(256 / conns)));
/** The sink acknowledges a quarter of a window at a time. */
const ackEveryFor = (conns: number): number => windowFor(conns) / 4;
const ECHO_ROUNDS = values.quick ? 1_000 : 4_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Bytes delivered per second over `n` links sharing TOTAL bytes. */
async function transfer(kind: Kind, links: Link[]): Promise<number> {
  const per = Math.floor(TOTAL / links.length);
  const window = windowFor(links.length);
  const t0 = performance.now();
  const delivered = await Promise.all(links.map((l) => (kind === 'udp' ? sendDatagrams(l, per, window) : sendStream(l, per))));
  const seconds = (performance.now() - t0) / 1000;
  return delivered.reduce((a, b) => a + b, 0) / seconds;
}

async function sendStream(l: Link, bytes: number): Promise<number> {
  const chunk = new Uint8Array(STREAM_CHUNK);
  const done = new Promise<void>((resolve) => l.onMessage(() => resolve()));
  const n = Math.ceil(bytes / STREAM_CHUNK);
  for (let i = 0; i < n; i++) await l.send(chunk);
  await done;
  return n * STREAM_CHUNK;
}

/** Window-limited datagram sender; lost datagrams are not resent (goodput counts what arrived). */
async function sendDatagrams(l: Link, bytes: number, window: number): Promise<number> {
  const chunk = new Uint8Array(DGRAM);
  const n = Math.ceil(bytes / DGRAM);
  let acked = 0;
  let finReply: number | undefined;
  let finishing = false;
  let wake: (() => void) | undefined;
  l.onMessage((b) => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
    if (finishing) finReply = v;
    else acked = Math.max(acked, v);
    wake?.();
  });
  const waitReply = (ms: number) =>
    Promise.race([new Promise<void>((r) => (wake = r)), sleep(ms)]).finally(() => (wake = undefined));
  for (let sent = 0; sent < n; ) {
    if (sent - acked >= window) {
      await waitReply(20);
      if (sent - acked >= window) acked = sent - window / 2; // acks lost with their datagrams: move on
      continue;
    }
    await l.send(chunk);
    sent++;
  }
  finishing = true;
  while (finReply === undefined) {
    await l.send(Uint8Array.of(0));
    await waitReply(50);
  }
  return finReply * DGRAM;
}

/** Round-trip times (µs) of sequential 8-byte echoes on each link, concurrently. */
async function echo(links: Link[], rounds: number): Promise<number[]> {
  const samples: number[] = [];
  const msg = new Uint8Array(8);
  await Promise.all(
    links.map(async (l) => {
      let got: (() => void) | undefined;
      l.onMessage(() => got?.());
      for (let i = 0; i < rounds; i++) {
        const t0 = process.hrtime.bigint();
        const reply = new Promise<void>((r) => (got = r));
        await l.send(msg);
        const ok = await Promise.race([reply.then(() => true), sleep(200).then(() => false)]);
        if (ok && i >= rounds / 10) samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }),
  );
  return samples.sort((a, b) => a - b);
}

const label: Record<Mode, string> = {
  raw: 'byte counter',
  hand: 'hand-written length prefix',
  itlp: 'it-length-prefixed',
  conn: 'base conn',
  noop1: '1 no-op',
  noop5: '5 no-op',
};
const perMode = (): Record<Mode, number[]> => ({ raw: [], hand: [], itlp: [], conn: [], noop1: [], noop5: [] });
const results: Result[] = [];

for (const kind of values.kind as Kind[]) {
  const modes = modesFor(kind);
  for (const conns of values.conns.map(Number)) {
    const { worker, ready } = await startWorker<PeerReady>(new URL('./lib/overhead-peer.ts', import.meta.url), {
      kind,
      ackEvery: ackEveryFor(conns),
      streamBytesPerConn: Math.ceil(Math.floor(TOTAL / conns) / STREAM_CHUNK) * STREAM_CHUNK,
    });
    const goodput = perMode();
    const p50 = perMode();
    const p99 = perMode();
    // Round 0 warms every path up and is not counted; later rounds rotate the order.
    for (let rep = 0; rep <= REPS; rep++) {
      for (const mode of modes.map((_, i) => modes[(i + rep) % modes.length]!)) {
        const sinks = await Promise.all(Array.from({ length: conns }, () => dial(kind, mode, ready.sink[mode]!)));
        const g = await transfer(kind, sinks);
        await Promise.all(sinks.map((l) => l.close()));
        const echoes = await Promise.all(Array.from({ length: conns }, () => dial(kind, mode, ready.echo[mode]!)));
        const rtts = await echo(echoes, Math.max(200, Math.floor(ECHO_ROUNDS / conns)));
        await Promise.all(echoes.map((l) => l.close()));
        if (rep === 0) continue;
        goodput[mode].push(g / 1e6);
        p50[mode].push(percentile(rtts, 50));
        p99[mode].push(percentile(rtts, 99));
      }
    }
    await worker.terminate();
    const at = `${kind} ×${conns}`;
    const rows = (subject: Mode, base: Mode, metrics: Array<'goodput' | 'p50' | 'p99'>, targets = false): void => {
      const tag = `${at} ${label[subject]} vs ${label[base]}`;
      const goal = (t: string): string => (targets ? ` (target ${t})` : '');
      if (metrics.includes('goodput')) results.push(pairedResult(`${tag}: goodput${goal('≥ 0.97×')}`, goodput[subject], goodput[base], 'MB/s'));
      if (metrics.includes('p50')) results.push(pairedResult(`${tag}: echo p50${goal('≤ 1.03×')}`, p50[subject], p50[base], 'µs'));
      if (metrics.includes('p99')) results.push(pairedResult(`${tag}: echo p99`, p99[subject], p99[base], 'µs'));
    };
    for (const mode of ['noop1', 'noop5'] as const) rows(mode, 'conn', ['goodput', 'p50', 'p99'], true);
    if (kind !== 'udp') {
      // The user's best choice, per figure: the framing with the higher median goodput, the lower median p50 and p99.
      const best = (s: Record<Mode, number[]>, higher: boolean): Mode => ((median(s.hand) > median(s.itlp)) === higher ? 'hand' : 'itlp');
      for (const mode of ['conn', 'noop1', 'noop5'] as const) {
        rows(mode, best(goodput, true), ['goodput'], mode !== 'conn');
        rows(mode, best(p50, false), ['p50'], mode !== 'conn');
        rows(mode, best(p99, false), ['p99']);
      }
    }
    for (const mode of ['noop1', 'noop5'] as const) rows(mode, 'raw', ['goodput', 'p50']);
    process.stdout.write(`${at} done\n`);
  }
}
report('overhead', results);
process.exit(0);
