/**
 * A server that drains whatever it is sent: every TCP connection and every
 * CCP transport flow. The sink of `netns-compare.sh` runs one; the sender
 * runs one on its own loopback for the JIT warm-up flow.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { udp } from '@bertha/core';
import { ccpTransport } from '@bertha/ccp';

export interface Drain {
  readonly tcpPort: number;
  readonly udpPort: number;
  close(): Promise<void>;
}

/** Listens on `host` (port 0: any free port) until closed. */
export async function startDrain(host: string, tcpPort: number, udpPort: number): Promise<Drain> {
  const tcp = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.resume();
  });
  tcp.listen(tcpPort, host);
  await once(tcp, 'listening');

  const listener = await udp({ recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }).listen({ host, port: udpPort });
  // The drain sends only ACKs: native control avoids starting an agent it would never use.
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

  return {
    tcpPort: (tcp.address() as AddressInfo).port,
    udpPort: listener.address.port,
    async close() {
      tcp.close();
      await listener.close();
    },
  };
}
