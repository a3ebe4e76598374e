/**
 * noop(): forwards every call to the Conn below unchanged. It adds no header
 * and no allocation per message, so stacking it measures what a Chunnel layer
 * itself costs (the overhead benchmark).
 */
import type { Chunnel } from '../chunnel.js';
import type { CallOptions, Conn } from '../conn/conn.js';

class ForwardConn<D> implements Conn<D> {
  readonly #inner: Conn<D>;

  constructor(inner: Conn<D>) {
    this.#inner = inner;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  send(msg: D, opts?: CallOptions): Promise<void> {
    return this.#inner.send(msg, opts);
  }

  sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void> {
    return this.#inner.sendBatch(msgs, opts);
  }

  recv(opts?: CallOptions): Promise<D> {
    return this.#inner.recv(opts);
  }

  recvBatch(max: number, opts?: CallOptions): Promise<D[]> {
    return this.#inner.recvBatch(max, opts);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<D> {
    return this.#inner[Symbol.asyncIterator]();
  }
}

export function noop<D = Uint8Array>(): Chunnel<D, D, 'noop'> {
  return {
    name: 'noop' as const,
    capabilities: () => [],
    connectWrap: async (inner) => new ForwardConn(inner),
  };
}
