import type { Socket } from 'node:net';
import { AbortError, ConnClosedError } from '../errors.js';

/**
 * Waits until a socket accepts more writes (backpressure). Rejects with
 * `ConnClosedError` if it closes first, or `AbortError` on the signal. For
 * every Conn that writes to a `net.Socket` (or a `TLSSocket`, which is one).
 */
export function drained(socket: Socket, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new ConnClosedError('connection closed while waiting to send'));
    };
    const onAbort = (): void => {
      done();
      reject(new AbortError(signal?.reason));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
