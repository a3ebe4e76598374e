/**
 * The server half of the overhead benchmark, run in a worker thread: for one
 * transport, an echo server and a sink server per mode (see `modesFor`). The sink acknowledges UDP datagrams so the sender can keep a
 * window, and answers a 1-byte FIN with the count it received.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { modesFor, serve, type Kind, type Link, type PeerReady } from './overhead-links.js';

const { kind, ackEvery, streamBytesPerConn } = (workerData as { data: { kind: Kind; ackEvery: number; streamBytesPerConn: number } }).data;

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function echo(l: Link): void {
  l.onMessage((b) => void l.send(b));
}

function sink(l: Link): void {
  let bytes = 0;
  let count = 0;
  l.onMessage((b) => {
    if (kind !== 'udp') {
      bytes += b.length;
      if (bytes >= streamBytesPerConn) {
        bytes = 0;
        void l.send(Uint8Array.of(1));
      }
      return;
    }
    if (b.length === 1) {
      void l.send(u32(count));
      count = 0;
      return;
    }
    if (++count % ackEvery === 0) void l.send(u32(count));
  });
}

const ready: PeerReady = { echo: {}, sink: {} };
for (const mode of modesFor(kind)) {
  const path = (task: string): string => join(tmpdir(), `bertha-overhead-${process.pid}-${task}-${mode}.sock`);
  ready.echo[mode] = (await serve(kind, mode, path('echo'), echo)).addr;
  ready.sink[mode] = (await serve(kind, mode, path('sink'), sink)).addr;
}
parentPort!.postMessage(ready);
