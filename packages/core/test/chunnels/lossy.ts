import type { CallOptions, Conn } from '@bertha/core';
import { mulberry32 } from '../../src/base/prng.js';

/** A Conn that drops each outgoing message with probability `loss` before the Conn below sees it: loss injected in-process on a real socket. */
export function lossy<D>(inner: Conn<D> & { maxMessageSize?: number }, loss: number, seed = 1): Conn<D> & { maxMessageSize?: number; dropped: number } {
  const rand = mulberry32(seed);
  const conn = {
    dropped: 0,
    maxMessageSize: inner.maxMessageSize,
    get closed() {
      return inner.closed;
    },
    send: (msg: D, opts?: CallOptions) => conn.sendBatch([msg], opts),
    sendBatch: (msgs: readonly D[], opts?: CallOptions) => {
      const kept = msgs.filter(() => rand() >= loss);
      conn.dropped += msgs.length - kept.length;
      return kept.length === 0 ? Promise.resolve() : inner.sendBatch(kept, opts);
    },
    recv: (opts?: CallOptions) => inner.recv(opts),
    recvBatch: (max: number, opts?: CallOptions) => inner.recvBatch(max, opts),
    close: () => inner.close(),
    [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
  };
  return conn;
}
