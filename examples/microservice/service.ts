/**
 * The two services of the microservice example: a back end answering
 * requests and a front end sending them, 10 per connection, on negotiated
 * stacks. Three ways to run them:
 *
 *   plain      [serialize]                        no TLS, no local path
 *   tls-local  [serialize, tls, maybe-local]      TLS, over the Unix socket when co-located
 *   fused      the same stack, with the pass      → [serialize, tls+maybe-local]: TLS to
 *              fuseTlsMaybeLocal on both ends       remote peers, plain Unix socket locally
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { makeStack, serialize, tcp, type Pass, type SocketAddress } from '@bertha/core';
import { connect, listen } from '@bertha/negotiate';
import { maybeLocal, tls, type LocalDirectory, type PathEvent, type TlsOptions } from '@bertha/chunnels-tls';
import { fuseTlsMaybeLocal } from '@bertha/chunnels-tls/passes';

export type Mode = 'plain' | 'tls-local' | 'fused';
export const MODES: readonly Mode[] = ['plain', 'tls-local', 'fused'];

export interface Message {
  readonly id: number;
  readonly text: string;
}

export function stackFor(mode: Mode, tlsOptions: TlsOptions, directory: LocalDirectory) {
  const secure = makeStack(serialize<Message>(), tls(tlsOptions), maybeLocal({ directory }));
  return mode === 'plain' ? makeStack(serialize<Message>()) : secure;
}

export const passesFor = (mode: Mode): readonly Pass[] => (mode === 'fused' ? [fuseTlsMaybeLocal] : []);

export interface Backend {
  readonly address: SocketAddress;
  close(): Promise<void>;
}

/** Listens on `host` (a free port), announces itself in `directory` unless plain, answers every request. */
export async function startBackend(mode: Mode, host: string, tlsOptions: TlsOptions, directory: LocalDirectory): Promise<Backend> {
  const t = tcp();
  const server = await listen(stackFor(mode, tlsOptions, directory), t, { host, port: 0 }, { passes: passesFor(mode) });
  const announcement = mode === 'plain' ? undefined : await directory.announce(t.format(server.address));
  void (async () => {
    for await (const conn of server) {
      void (async () => {
        for await (const req of conn) await conn.send({ id: req.id, text: `back end says: ${req.text}` });
      })().catch(() => undefined);
    }
  })();
  return {
    address: server.address,
    close: async () => {
      await announcement?.close();
      await server.close();
    },
  };
}

export interface FrontendResult {
  /** Request latencies, µs, every request of every connection. */
  readonly latencies: number[];
  /** How the front end's connections went: `local`/`network`, `encrypted`/`plain`, and counts. */
  readonly paths: Record<string, number>;
}

/** Opens `connections` connections one after the other and sends `requests` requests on each, one at a time. */
export async function runFrontend(
  mode: Mode,
  address: SocketAddress,
  tlsOptions: TlsOptions,
  directory: LocalDirectory,
  connections: number,
  requests: number,
): Promise<FrontendResult> {
  const stack = stackFor(mode, tlsOptions, directory);
  const latencies: number[] = [];
  const paths: Record<string, number> = {};
  let local = false;
  let encrypted = false;
  const onPath = (msg: unknown): void => {
    const e = msg as PathEvent;
    if (e.role !== 'client') return;
    local ||= e.local;
    encrypted ||= e.encrypted;
  };
  subscribe('bertha:chunnels-tls:path', onPath);
  try {
    for (let c = 0; c < connections; c++) {
      local = false;
      encrypted = false;
      const conn = await connect(stack, tcp(), address, { passes: passesFor(mode) });
      const path = `${local ? 'local' : 'network'}, ${encrypted ? 'encrypted' : 'plain'}`;
      paths[path] = (paths[path] ?? 0) + 1;
      for (let i = 0; i < requests; i++) {
        const t0 = performance.now();
        await conn.send({ id: i, text: 'GET /inventory' });
        const res = await conn.recv({ signal: AbortSignal.timeout(10_000) });
        latencies.push((performance.now() - t0) * 1000);
        if (res.id !== i) throw new Error(`response ${res.id} to request ${i}`);
      }
      await conn.close();
    }
  } finally {
    unsubscribe('bertha:chunnels-tls:path', onPath);
  }
  return { latencies, paths };
}
