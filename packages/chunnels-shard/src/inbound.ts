import { AbstractConn, type Conn } from '@bertha/core';

/**
 * Hands every message `conn` receives to `onMessage` as it arrives, and its
 * end to `onEnd`: diverted without a promise per message when `conn` is an
 * AbstractConn (every base connection and negotiated channel is), by a read
 * loop otherwise.
 */
export function onEachMessage(conn: Conn<Uint8Array>, onMessage: (msg: Uint8Array) => void, onEnd: () => void): void {
  if (conn instanceof AbstractConn) {
    conn.divert({ onMessage, onEnd });
    return;
  }
  void (async () => {
    try {
      for (;;) for (const m of await conn.recvBatch(256)) onMessage(m);
    } catch {
      onEnd();
    }
  })();
}
