/**
 * The hand-written `node:tls` baseline's framing: the same u32 big-endian
 * length prefix our TLS Chunnel puts inside the stream, parsed by hand.
 */
import type { TLSSocket } from 'node:tls';

/** Calls `onFrame` with each complete frame read from `socket`. */
export function readFrames(socket: TLSSocket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.byteLength >= 4) {
      const len = pending.readUInt32BE(0);
      if (pending.byteLength < 4 + len) break;
      onFrame(pending.subarray(4, 4 + len));
      pending = pending.subarray(4 + len);
    }
  });
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.byteLength);
  out.writeUInt32BE(payload.byteLength, 0);
  out.set(payload, 4);
  return out;
}

/** Echoes every frame back. */
export function frameEcho(socket: TLSSocket): void {
  socket.on('error', () => undefined);
  readFrames(socket, (f) => socket.write(frame(f)));
}
