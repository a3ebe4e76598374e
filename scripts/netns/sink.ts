/**
 * The receiving end of `scripts/netns-compare.sh`: drains every TCP
 * connection on `--tcp-port` and every CCP transport flow on `--udp-port`,
 * prints `ready` once both listen, and runs until SIGTERM or SIGINT.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { udp } from '@bertha/core';
import { ccpTransport } from '@bertha/ccp';

const { values } = parseArgs({ options: { host: { type: 'string' }, 'tcp-port': { type: 'string' }, 'udp-port': { type: 'string' } } });
const host = values.host;
if (host === undefined) throw new Error('sink.ts: --host is required');

const tcp = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.resume();
});
tcp.listen(Number(values['tcp-port']), host);
await once(tcp, 'listening');

const listener = await udp({ recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }).listen({ host, port: Number(values['udp-port']) });
// The sink sends only ACKs: native control avoids starting an agent it would never use.
const transport = ccpTransport({ cc: { kind: 'native', algorithm: 'reno' } });
void (async () => {
  for await (const base of listener) {
    const conn = await transport.connectWrap(base, { role: 'server' });
    void (async () => {
      try {
        for (;;) await conn.recvBatch(1024);
      } catch {
        // The sender has gone (the transport has no close signal).
      }
    })();
  }
})();

const stop = (): void => {
  tcp.close();
  void listener.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log('ready');
