import { AbortError, throwIfAborted } from '../errors.js';
import { AddressError, TransportError } from './errors.js';

/** Maps a socket error to ours: address problems become `AddressError`, the rest `TransportError`. */
export function socketError(err: NodeJS.ErrnoException, where: string, op: 'connect' | 'listen' = 'connect'): Error {
  if (op === 'listen' && err.code === 'ENOENT') {
    return new AddressError(`cannot listen at ${where}: its directory does not exist`, { cause: err });
  }
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOENT':
      return new AddressError(`no listener at ${where}: start the server first or check the address`, { cause: err });
    case 'EADDRINUSE':
      return new AddressError(`${where} is already in use: close the other listener or pick another address`, { cause: err });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EACCES':
      return new AddressError(`cannot use ${where} (${err.code}): check the host name and permissions`, { cause: err });
    default:
      return new TransportError(`socket operation on ${where} failed: ${err.message}`, { cause: err });
  }
}

/** What `started` drives: a `net.Server` or a `dgram` socket. */
export interface Startable {
  once(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  off(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
  close(): unknown;
}

/**
 * Runs `start` (a listen, bind or connect that calls `done` when it
 * succeeds) and resolves once it does. Its error becomes ours through
 * `toError`; on failure or abort `target` is closed.
 */
export function started(
  target: Startable,
  start: (done: () => void) => void,
  toError: (err: NodeJS.ErrnoException) => Error,
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      signal?.removeEventListener('abort', onAbort);
      target.close();
      reject(toError(err));
    };
    const onAbort = (): void => {
      target.off('error', onError);
      target.close();
      reject(new AbortError(signal?.reason));
    };
    target.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    start(() => {
      target.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
