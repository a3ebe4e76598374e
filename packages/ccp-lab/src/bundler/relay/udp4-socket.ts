/** A bound IPv4 UDP socket for the relays, with the address checks they share. */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { AbortError, AddressError, InvalidArgumentError } from '@bertha/core';

/** An IPv4 address and port. */
export interface Udp4Address {
  readonly host: string;
  readonly port: number;
}

/** Throws unless `a` is an IPv4 literal and a port (0 allowed when binding: any free port). */
export function checkUdp4Address(a: Udp4Address, what: string, allowZeroPort = false): Udp4Address {
  const okPort = Number.isInteger(a.port) && a.port >= (allowZeroPort ? 0 : 1) && a.port <= 65535;
  if (!isIPv4(a.host) || !okPort) {
    throw new InvalidArgumentError(`${what} must be an IPv4 address and a port${allowZeroPort ? ' (0: any)' : ''}, e.g. { host: '10.0.0.1', port: 4000 }; got ${JSON.stringify(a)}`);
  }
  return a;
}

/** Binds a UDP socket at `addr` with large buffers (a relay holds a whole window in flight). */
export async function bindUdp4(addr: Udp4Address, signal?: AbortSignal): Promise<Socket> {
  signal?.throwIfAborted();
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      socket.close();
      reject(new AbortError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new AddressError(`cannot bind UDP ${addr.host}:${addr.port} (${err.message}): pick a free port and a local address`, { cause: err }));
    });
    socket.bind(addr.port, addr.host, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  return socket;
}

/** Where `socket` is bound. */
export function udp4AddressOf(socket: Socket): Udp4Address {
  const a = socket.address();
  return { host: a.address, port: a.port };
}

/** Closes every socket; resolves once all have closed. */
export function closeUdp4(sockets: readonly Socket[]): Promise<void> {
  return Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
}
