/**
 * Connection establishment + one 8-byte echo over UDP on loopback (the
 * thesis' "connect" figure): raw UDP as the baseline, then Bertha's 1-RTT
 * and 0-RTT negotiation of a stack with one select. Kinds run round-robin,
 * one trial at a time, so drift in machine load hits them alike.
 *
 *   pnpm bench connect [trials=1000]
 */
import { performance } from 'node:perf_hooks';
import { makeStack, select, twoSided, udp, type BaseConn, type Chunnel, type Conn, type SocketAddress } from '@bertha/core';
import { connect, listen, memoryPickCache } from '@bertha/negotiate';
import { percentile, report, result, type Result } from './lib/results.js';

const trials = Number(process.argv[2] ?? 1000);
const warmup = 50;
const payload = new Uint8Array(8).fill(7);

/** A pass-through Chunnel that declares a capability, so negotiation has something to decide. */
function passThrough<const N extends string>(name: N, label: string): Chunnel<Uint8Array, Uint8Array, N> {
  return { name, capabilities: () => [twoSided('encryption', label)], connectWrap: async (inner) => inner };
}
const stack = makeStack(select(passThrough('plain', 'none'), passThrough('tls', 'tls')));

/** Echoes the first message of each connection, then closes it (as the client does). */
async function echoOnce<D>(accept: () => Promise<Conn<D>>): Promise<void> {
  for (;;) {
    let conn: Conn<D>;
    try {
      conn = await accept();
    } catch {
      return;
    }
    void conn
      .recv()
      .then((m) => conn.send(m))
      .catch(() => undefined)
      .finally(() => void conn.close());
  }
}

// Trials reuse ephemeral ports within seconds: a reused port must be a new peer, not a closed one kept quiet.
const t = udp({ closedPeerQuietMs: 0 });
const loopback: SocketAddress = { host: '127.0.0.1', port: 0 };
const rawServer = await t.listen(loopback);
const negServer = await listen(stack, t, loopback);
void echoOnce(() => rawServer.accept());
void echoOnce(() => negServer.accept());
const cache = memoryPickCache();

const kinds = {
  'raw UDP': async () => {
    const c: BaseConn<SocketAddress> = await t.connect(rawServer.address);
    await c.send(payload);
    await c.recv();
    return c;
  },
  '1-RTT': async () => {
    const c = await connect(stack, t, negServer.address, { cache });
    await c.send(payload);
    await c.recv();
    return c;
  },
  '0-RTT': async () => {
    const c = await connect(stack, t, negServer.address, { cache, zeroRtt: true });
    await c.send(payload);
    await c.recv();
    return c;
  },
} satisfies Record<string, () => Promise<Conn<Uint8Array>>>;
type Kind = keyof typeof kinds;

const samples: Record<Kind, number[]> = { 'raw UDP': [], '1-RTT': [], '0-RTT': [] };
for (let i = 0; i < warmup + trials; i++) {
  for (const kind of Object.keys(kinds) as Kind[]) {
    const start = performance.now();
    const conn = await kinds[kind]();
    const us = (performance.now() - start) * 1000;
    await conn.close();
    if (i >= warmup) samples[kind].push(us);
  }
}
await Promise.all([rawServer.close(), negServer.close()]);

const results: Result[] = [];
const base = [...samples['raw UDP']].sort((a, b) => a - b);
for (const kind of Object.keys(kinds) as Kind[]) {
  const sorted = [...samples[kind]].sort((a, b) => a - b);
  for (const p of [5, 25, 50, 75, 95]) {
    results.push(result(`${kind} connect+echo p${p}`, Math.round(percentile(sorted, p)), Math.round(percentile(base, p)), 'µs'));
  }
}
report('connect', results);
