/**
 * The back ends of the microservice benchmark, in a worker thread (a
 * co-located service is another process, with its own event loop): the
 * example's back end in its three modes, our TLS Chunnel alone, and a
 * hand-written `node:tls` echo server as the baseline.
 */
import { createServer as tlsServer } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import { makeStack, tcp, wrap, type Conn, type SocketAddress } from '@bertha/core';
import { listen } from '@bertha/negotiate';
import { localDirectory, tls } from '@bertha/chunnels-tls';
import type { KeyPair } from '@bertha/chunnels-tls/testing';
import { startBackend, type Mode } from '../../examples/microservice/service.js';
import { frameEcho } from './tls-frames.js';

export interface ServersReady {
  readonly backends: Record<Mode, SocketAddress>;
  /** Our TLS Chunnel alone, bytes echoed. */
  readonly tls: SocketAddress;
  /** Our TLS Chunnel alone on TCP without negotiation (`wrap`), bytes echoed. */
  readonly tlsWrap: SocketAddress;
  /** node:tls, frames echoed. */
  readonly nodeTls: SocketAddress;
}

const { server, root } = workerData.data as { server: KeyPair; root: string };
const directory = localDirectory({ root });
const host = '127.0.0.1';

const backends = {} as Record<Mode, SocketAddress>;
for (const mode of ['plain', 'tls-local', 'fused'] as const) backends[mode] = (await startBackend(mode, host, server, directory)).address;

const echo = (conn: Conn<Uint8Array>): void =>
  void (async () => {
    for await (const m of conn) await conn.send(m);
  })().catch(() => undefined);

const ours = await listen(makeStack(tls(server)), tcp(), { host, port: 0 });
void (async () => {
  for await (const conn of ours) echo(conn);
})();

const bare = await tcp().listen({ host, port: 0 });
const bareStack = makeStack(tls(server));
void (async () => {
  for await (const base of bare) {
    wrap(bareStack, base, { role: 'server', peer: 'bench' }).then(echo, () => undefined);
  }
})();

const baseline = tlsServer({ ...server, minVersion: 'TLSv1.3' }, (socket) => frameEcho(socket));
await new Promise<void>((resolve) => baseline.listen(0, host, resolve));
const { port } = baseline.address() as { port: number };

parentPort!.postMessage({ backends, tls: ours.address, tlsWrap: bare.address, nodeTls: { host, port } } satisfies ServersReady);
