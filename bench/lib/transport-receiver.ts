/**
 * The receiving end of `pnpm bench transport`, in a worker thread so that
 * sender and receiver each have a core: a UDP listener on loopback whose
 * every accepted peer is wrapped in the CCP transport and drained. The main
 * thread asks for a peer's byte count by its port.
 */
import { parentPort } from 'node:worker_threads';
import { udp } from '@bertha/core';
import { ccpTransport } from '@bertha/ccp';

const port = parentPort!;
const received = new Map<number, number>();
const listener = await udp({ recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 }).listen({ host: '127.0.0.1', port: 0 });
// The receiver sends only ACKs: native control avoids starting an agent it would never use.
const transport = ccpTransport({ cc: { kind: 'native', algorithm: 'reno' } });

void (async () => {
  for await (const base of listener) {
    const peer = base.remote.port;
    received.set(peer, 0);
    const conn = await transport.connectWrap(base, { role: 'server' });
    void (async () => {
      try {
        for (;;) {
          const batch = await conn.recvBatch(1024);
          received.set(peer, received.get(peer)! + batch.reduce((n, m) => n + m.byteLength, 0));
        }
      } catch {
        // The peer's run is over.
      }
    })();
  }
})();

port.on('message', (m: { bytesFrom?: number; stop?: true }) => {
  if (m.stop) {
    void listener.close().then(() => process.exit(0));
    return;
  }
  port.postMessage({ port: m.bytesFrom, bytes: received.get(m.bytesFrom!) ?? 0 });
});
port.postMessage(listener.address);
