/**
 * The microservice benchmark (issue 15): request latency, 10 requests per
 * connection, front end and co-located back end (the back ends run in a
 * worker thread), for the example's three stacks — plain, TLS + maybe-local
 * without the pass, fused — and for our TLS Chunnel alone against a
 * hand-written `node:tls` client and server with the same framing; and TLS
 * connection set-up (full handshakes, no resumption) against the same
 * baseline. Kinds take turns in a rotating order each round after a warm-up;
 * each figure is the median over rounds, and the spread of the per-round
 * ratios (p25–p75) is printed.
 *
 *   pnpm bench microservice [--quick]
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { makeStack, tcp, wrap, type Conn, type SocketAddress } from '@bertha/core';
import { connect } from '@bertha/negotiate';
import { localDirectory, tls } from '@bertha/chunnels-tls';
import { makeTestCerts } from '@bertha/chunnels-tls/testing';
import { runFrontend, type Mode } from '../examples/microservice/service.js';
import type { ServersReady } from './lib/microservice-servers.js';
import { percentile, report, result, type Result } from './lib/results.js';
import { frame, readFrames } from './lib/tls-frames.js';
import { startWorker } from './lib/worker.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const ROUNDS = values.quick ? 3 : 15;
const CONNS = values.quick ? 10 : 20;
const REQUESTS = 10;
const SETUPS = values.quick ? 20 : 40;
const WARMUP_CONNS = values.quick ? 50 : 300;
const PAYLOAD = new Uint8Array(16).fill(7);

const certs = makeTestCerts();
const root = mkdtempSync(join(tmpdir(), 'bertha-bench-local-'));
const directory = localDirectory({ root });
const { worker, ready } = await startWorker<ServersReady>(new URL('./lib/microservice-servers.ts', import.meta.url), { server: certs.server, root });

const us = (t0: number): number => (performance.now() - t0) * 1000;

/** 10 requests of 16 bytes on a byte Conn, latencies in µs. */
async function requests(conn: Conn<Uint8Array>, out: number[]): Promise<void> {
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await conn.send(PAYLOAD);
    await conn.recv();
    out.push(us(t0));
  }
}

/**
 * The hand-written client: `node:tls` on its own TCP socket (native all the
 * way), or, to show what running TLS over a JavaScript stream costs by
 * itself, on a Duplex that relays a TCP socket (as our Chunnel's TLS runs).
 */
async function nodeTlsClient(addr: SocketAddress, overDuplex = false): Promise<TLSSocket> {
  const opts = { ca: certs.ca, servername: 'localhost', minVersion: 'TLSv1.3' } as const;
  let socket: TLSSocket;
  if (overDuplex) {
    const tcpSocket = netConnect(addr.port, addr.host);
    await once(tcpSocket, 'connect');
    tcpSocket.setNoDelay(true);
    socket = tlsConnect({ ...opts, socket: relay(tcpSocket) });
  } else {
    socket = tlsConnect({ ...opts, host: addr.host, port: addr.port });
  }
  await once(socket, 'secureConnect');
  return socket;
}

function relay(socket: Socket): Duplex {
  const d = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _enc, done) => void socket.write(chunk, done),
    destroy: (err, done) => {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => d.push(chunk));
  socket.on('end', () => d.push(null));
  socket.on('error', (err) => d.destroy(err));
  return d;
}

/** The baseline's 10 requests: write a frame, wait for the echoed frame. */
async function nodeTlsRequests(socket: TLSSocket, out: number[]): Promise<void> {
  let wake: (() => void) | undefined;
  readFrames(socket, () => wake?.());
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((r) => (wake = r));
    socket.write(frame(PAYLOAD));
    await got;
    out.push(us(t0));
  }
}

const clientTls = () => tls({ ca: certs.ca, servername: 'localhost', resumeSessions: false });
const ourTlsStack = makeStack(clientTls());

type LatencyKind = Mode | 'tls' | 'node:tls' | 'node:tls over a Duplex';
type SetupKind = 'tls wrap' | 'tls connect' | 'node:tls';

async function latency(kind: LatencyKind, conns: number): Promise<number[]> {
  if (kind === 'plain' || kind === 'tls-local' || kind === 'fused') {
    return (await runFrontend(kind, ready.backends[kind], { ca: certs.ca, servername: 'localhost' }, directory, conns, REQUESTS)).latencies;
  }
  const out: number[] = [];
  for (let c = 0; c < conns; c++) {
    if (kind === 'tls') {
      const conn = await connect(ourTlsStack, tcp(), ready.tls);
      await requests(conn, out);
      await conn.close();
    } else {
      const socket = await nodeTlsClient(ready.nodeTls, kind !== 'node:tls');
      await nodeTlsRequests(socket, out);
      socket.destroy();
    }
  }
  return out;
}

/** Connection set-up until the TLS handshake is done, µs per connection. */
async function setup(kind: SetupKind, n: number): Promise<number[]> {
  const out: number[] = [];
  const chunnelStack = makeStack(clientTls());
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (kind === 'node:tls') {
      const socket = await nodeTlsClient(ready.nodeTls);
      out.push(us(t0));
      socket.destroy();
    } else if (kind === 'tls connect') {
      const conn = await connect(chunnelStack, tcp(), ready.tls);
      out.push(us(t0));
      await conn.close();
    } else {
      // Our TLS Chunnel on a TCP connection without negotiation.
      const base = await tcp().connect(ready.tlsWrap);
      const conn = await wrap(chunnelStack, base, { role: 'client', peer: tcp().format(ready.tlsWrap) });
      out.push(us(t0));
      await conn.close();
    }
  }
  return out;
}

const latencyKinds: LatencyKind[] = ['plain', 'tls-local', 'fused', 'tls', 'node:tls', 'node:tls over a Duplex'];
const setupKinds: SetupKind[] = ['tls wrap', 'tls connect', 'node:tls'];
const p50 = Object.fromEntries(latencyKinds.map((k) => [k, [] as number[]])) as Record<LatencyKind, number[]>;
const p99 = Object.fromEntries(latencyKinds.map((k) => [k, [] as number[]])) as Record<LatencyKind, number[]>;
const setupP50 = Object.fromEntries(setupKinds.map((k) => [k, [] as number[]])) as Record<SetupKind, number[]>;

// Warm-up: set-up code runs once per connection, and V8 optimizes only after many calls.
for (const k of latencyKinds) await latency(k, WARMUP_CONNS / 5);
for (const k of setupKinds) await setup(k, WARMUP_CONNS);

for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < latencyKinds.length; i++) {
    const k = latencyKinds[(i + round) % latencyKinds.length]!;
    const xs = (await latency(k, CONNS)).sort((a, b) => a - b);
    p50[k].push(percentile(xs, 50));
    p99[k].push(percentile(xs, 99));
  }
  for (let i = 0; i < setupKinds.length; i++) {
    const k = setupKinds[(i + round) % setupKinds.length]!;
    setupP50[k].push(percentile((await setup(k, SETUPS)).sort((a, b) => a - b), 50));
  }
  process.stdout.write(`round ${round + 1}/${ROUNDS}\r`);
}

const median = (xs: readonly number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const results: Result[] = [];
const spreads: string[] = [];
function compare(metric: string, subject: readonly number[], base: readonly number[], target: string): void {
  results.push(result(metric, Math.round(median(subject)), Math.round(median(base)), 'µs'));
  const ratios = subject.map((v, i) => v / base[i]!).sort((a, b) => a - b);
  spreads.push(`${metric}: per-round ratio median ${percentile(ratios, 50).toFixed(2)} (p25–p75 ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)}), target ${target}`);
}
compare('fused vs plain: request p50', p50.fused, p50.plain, '≤ 0.8');
compare('fused vs plain: request p99', p99.fused, p99.plain, '-');
compare('tls + maybe-local without the pass vs fused: request p50', p50['tls-local'], p50.fused, '≥ 1.3');
compare('tls + maybe-local without the pass vs fused: request p99', p99['tls-local'], p99.fused, '-');
compare('tls Chunnel vs hand-written node:tls: request p50', p50.tls, p50['node:tls'], '≤ 1.05');
compare('tls Chunnel vs hand-written node:tls: request p99', p99.tls, p99['node:tls'], '-');
compare('tls Chunnel (wrap, no negotiation) vs hand-written node:tls: connection set-up p50', setupP50['tls wrap'], setupP50['node:tls'], '≤ 1.1');
compare('tls Chunnel (negotiated connect) vs hand-written node:tls: connection set-up p50', setupP50['tls connect'], setupP50['node:tls'], '-');
compare('hand-written node:tls over a JS Duplex vs native node:tls: request p50 (what TLS over a JS stream costs)', p50['node:tls over a Duplex'], p50['node:tls'], '-');
compare('tls Chunnel vs hand-written node:tls over a JS Duplex: request p50 (what our layers cost)', p50.tls, p50['node:tls over a Duplex'], '-');
compare('plain vs hand-written node:tls: request p50', p50.plain, p50['node:tls'], '-');

report('microservice', results);
console.log(`\n${ROUNDS} rounds; ${CONNS} connections × ${REQUESTS} requests per kind and round; ${SETUPS} set-ups per kind and round`);
for (const s of spreads) console.log(`  ${s}`);
await worker.terminate();
rmSync(root, { recursive: true, force: true });
process.exit(0);
