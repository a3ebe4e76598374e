/** Options accepted by every blocking connection call. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * A connection carrying messages of type `D`.
 *
 * Batch operations are first-class: `sendBatch`/`recvBatch` are what make
 * cloud queues and datagram sockets cheap; `send`/`recv` are conveniences for
 * one message. Every Conn is an async iterable of received messages that ends
 * when the connection closes.
 */
export interface Conn<D> extends AsyncIterable<D> {
  /** Sends one message. Resolves once the message has been handed to the layer below. */
  send(msg: D, opts?: CallOptions): Promise<void>;
  /** Sends many messages, in order, in as few calls to the layer below as it allows. */
  sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void>;
  /** Waits for one message. Rejects with `ConnClosedError` once the connection is closed and drained. */
  recv(opts?: CallOptions): Promise<D>;
  /** Waits for at least one message and returns up to `max` that are ready. */
  recvBatch(max: number, opts?: CallOptions): Promise<D[]>;
  /** Closes this connection and releases what it holds. Idempotent. */
  close(): Promise<void>;
  /** True once `close()` was called or the peer went away. */
  readonly closed: boolean;
}

/** Counters a connection keeps about its traffic; reading them is free. */
export interface ConnStats {
  /** Messages handed to the layer below. */
  sent: number;
  /** Messages delivered to the layer above. */
  received: number;
  /** Messages dropped because they could not be decoded or did not fit. */
  dropped: number;
}
