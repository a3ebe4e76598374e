import { DecodeError } from '../errors.js';
import type { CallOptions, Conn, ConnStats } from './conn.js';
import { iterateConn } from './abstract-conn.js';

/** How a message-by-message transformation encodes on the way down and decodes on the way up. */
export interface Codec<Inner, Outer> {
  encode(msg: Outer): Inner;
  /** Throws (any error) for input it cannot decode; the message is then dropped and counted. */
  decode(msg: Inner): Outer;
}

/**
 * A Conn that applies a codec to every message of the Conn below it. Inputs
 * that fail to decode are dropped and counted in `stats.dropped`, so a bad
 * peer cannot stop the connection; `onDecodeError` observes them.
 */
export class MappedConn<Inner, Outer> implements Conn<Outer> {
  readonly stats: ConnStats = { sent: 0, received: 0, dropped: 0 };
  readonly #inner: Conn<Inner>;
  readonly #codec: Codec<Inner, Outer>;
  readonly #onDecodeError: ((err: DecodeError) => void) | undefined;

  constructor(inner: Conn<Inner>, codec: Codec<Inner, Outer>, onDecodeError?: (err: DecodeError) => void) {
    this.#inner = inner;
    this.#codec = codec;
    this.#onDecodeError = onDecodeError;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  send(msg: Outer, opts?: CallOptions): Promise<void> {
    this.stats.sent++;
    return this.#inner.send(this.#codec.encode(msg), opts);
  }

  sendBatch(msgs: readonly Outer[], opts?: CallOptions): Promise<void> {
    this.stats.sent += msgs.length;
    return this.#inner.sendBatch(msgs.map((m) => this.#codec.encode(m)), opts);
  }

  async recv(opts?: CallOptions): Promise<Outer> {
    for (;;) {
      const out = this.#tryDecode(await this.#inner.recv(opts));
      if (out.ok) return out.value;
    }
  }

  async recvBatch(max: number, opts?: CallOptions): Promise<Outer[]> {
    for (;;) {
      const out: Outer[] = [];
      for (const m of await this.#inner.recvBatch(max, opts)) {
        const r = this.#tryDecode(m);
        if (r.ok) out.push(r.value);
      }
      if (out.length > 0) return out;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Outer> {
    return iterateConn(this);
  }

  #tryDecode(m: Inner): { ok: true; value: Outer } | { ok: false } {
    try {
      const value = this.#codec.decode(m);
      this.stats.received++;
      return { ok: true, value };
    } catch (cause) {
      this.stats.dropped++;
      this.#onDecodeError?.(cause instanceof DecodeError ? cause : new DecodeError('could not decode a message from the peer', { cause }));
      return { ok: false };
    }
  }
}
