/**
 * Overhead of Chunnel layers: a stack of 1 and of 5 no-op Chunnels against
 * the raw Node socket, over TCP, Unix and UDP, with 1 and 64 connections.
 * Goodput of a 50 MB transfer and p50/p99 of an 8-byte echo. Each stack is
 * compared twice: with our base connection and no Chunnel (what the layers
 * cost) and with the raw socket (what layers plus message framing cost: on a
 * stream, a framed message must be copied out of the socket's reads, which a
 * raw byte counter never does). Modes run in a rotating order after a
 * warm-up round; each figure is the median of its runs. Servers run in a
 * worker thread so both ends get a core.
 *
 *   pnpm bench overhead [--quick] [--kind tcp|unix|udp]… [--conns N]…
 */
import { parseArgs } from 'node:util';
import { dial, type Kind, type Link, type Mode, type PeerReady } from './lib/overhead-links.js';
import { percentile, report, result, type Result } from './lib/results.js';
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
const REPS = values.quick ? 1 : 21;
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
const ECHO_ROUNDS = values.quick ? 2_000 : 4_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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

const modes: Mode[] = ['raw', 'conn', 'noop1', 'noop5'];
const label: Record<Mode, string> = { raw: 'raw socket', conn: 'base conn', noop1: '1 no-op', noop5: '5 no-op' };
const perMode = (): Record<Mode, number[]> => ({ raw: [], conn: [], noop1: [], noop5: [] });
const results: Result[] = [];

for (const kind of values.kind as Kind[]) {
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
        const sinks = await Promise.all(Array.from({ length: conns }, () => dial(kind, mode, ready.sink[mode])));
        const g = await transfer(kind, sinks);
        await Promise.all(sinks.map((l) => l.close()));
        const echoes = await Promise.all(Array.from({ length: conns }, () => dial(kind, mode, ready.echo[mode])));
        const rtts = await echo(echoes, Math.max(200, Math.floor(ECHO_ROUNDS / conns)));
        await Promise.all(echoes.map((l) => l.close()));
        if (rep === 0) continue;
        goodput[mode].push(g);
        p50[mode].push(percentile(rtts, 50));
        p99[mode].push(percentile(rtts, 99));
      }
    }
    await worker.terminate();
    for (const mode of ['noop1', 'noop5'] as const) {
      for (const base of ['conn', 'raw'] as const) {
        const tag = `${kind} ×${conns} ${label[mode]} vs ${label[base]}`;
        results.push(result(`${tag}: goodput`, median(goodput[mode]) / 1e6, median(goodput[base]) / 1e6, 'MB/s'));
        results.push(result(`${tag}: echo p50`, median(p50[mode]), median(p50[base]), 'µs'));
        results.push(result(`${tag}: echo p99`, median(p99[mode]), median(p99[base]), 'µs'));
      }
    }
    process.stdout.write(`${kind} ×${conns} done\n`);
  }
}
report('overhead', results);
process.exit(0);
