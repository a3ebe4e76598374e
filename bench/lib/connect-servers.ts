/**
 * The point-to-point servers of the connect benchmark: a raw UDP echo and a
 * negotiating UDP echo of `connectStack`. `bench connect` runs one set in its
 * own thread, next to the client, and one in a worker thread, as a server on
 * another host would be: there its work runs beside the client's, not in turn.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { udp, type Conn, type SocketAddress } from '@bertha/core';
import { listen } from '@bertha/negotiate';
import { connectStack } from './connect-stack.js';

/** Echoes the first message of each connection, then closes it (as the client does). */
export async function echoOnce<D>(accept: () => Promise<Conn<D>>): Promise<void> {
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

export interface Servers {
  readonly raw: SocketAddress;
  readonly negotiating: SocketAddress;
  close(): Promise<void>;
}

export async function startServers(): Promise<Servers> {
  const t = udp();
  const loopback: SocketAddress = { host: '127.0.0.1', port: 0 };
  const raw = await t.listen(loopback);
  const negotiating = await listen(connectStack, t, loopback);
  void echoOnce(() => raw.accept());
  void echoOnce(() => negotiating.accept());
  return {
    raw: raw.address,
    negotiating: negotiating.address,
    close: async () => {
      await Promise.all([raw.close(), negotiating.close()]);
    },
  };
}

// In a worker: serve until the benchmark terminates the thread.
if (!isMainThread && parentPort) {
  const servers = await startServers();
  parentPort.postMessage({ raw: servers.raw, negotiating: servers.negotiating });
}
