import type { TLSSocket } from 'node:tls';
import { AbstractConn, ConnClosedError, drained, FrameReader, MessageTooLargeError, throwIfAborted, type CallOptions } from '@bertha/core';

const HEADER = 4;
/** How long a closed connection may take to flush and say goodbye before it is torn down. */
const CLOSE_GRACE_MS = 2000;

/** What was agreed in a TLS handshake. */
export interface TlsSessionInfo {
  /** `'TLSv1.3'` or `'TLSv1.2'`. */
  readonly protocol: string;
  /** The ALPN protocol both ends chose, or `false`. */
  readonly alpnProtocol: string | false;
  /** True when the session was resumed from an earlier one (no full handshake). */
  readonly resumed: boolean;
  /** The peer's certificate subject common name, when it sent a certificate. */
  readonly peerName: string | undefined;
}

/**
 * Messages over a TLS stream: each is a frame (u32 big-endian length, then
 * the bytes) inside the encrypted stream, read with core's `FrameReader`.
 */
export class TlsConn extends AbstractConn<Uint8Array> {
  readonly maxMessageSize: number;
  readonly #socket: TLSSocket;
  #info: TlsSessionInfo | undefined;

  constructor(socket: TLSSocket, maxFrameSize: number) {
    super();
    this.#socket = socket;
    this.maxMessageSize = maxFrameSize;
    const reader = new FrameReader(maxFrameSize);
    const broken = (err: unknown): void => {
      // A bad length cannot be resynchronised: this connection ends.
      this.stats.dropped++;
      socket.destroy();
      if (!this.closed) this.ended(new ConnClosedError(`connection closed: ${(err as Error).message}`, { cause: err }));
    };
    reader.attach((frame) => {
      this.stats.received++;
      this.inbox.push(frame);
    }, broken);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (let off = 0; off < chunk.byteLength; ) {
          const dst = reader.buffer();
          const n = Math.min(dst.byteLength, chunk.byteLength - off);
          dst.set(chunk.subarray(off, off + n));
          off += n;
          reader.filled(n);
        }
      } catch (err) {
        broken(err);
      }
    });
    const gone = (err?: Error): void => {
      if (this.closed) return;
      this.ended(err ? () => new ConnClosedError(`TLS connection failed: ${err.message}`, { cause: err }) : undefined);
    };
    socket.on('end', () => gone());
    socket.on('close', () => gone());
    socket.on('error', gone);
  }

  /** What the handshake agreed; worked out when first read (decoding the peer's certificate costs about a millisecond). */
  get tls(): TlsSessionInfo {
    if (this.#info) return this.#info;
    const socket = this.#socket;
    const cn = socket.getPeerCertificate()?.subject?.CN;
    this.#info = {
      protocol: socket.getProtocol() ?? 'unknown',
      alpnProtocol: socket.alpnProtocol ?? false,
      resumed: socket.isSessionReused(),
      peerName: Array.isArray(cn) ? cn[0] : cn,
    };
    return this.#info;
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    throwIfAborted(opts?.signal);
    this.assertOpen();
    let bytes = 0;
    for (const m of msgs) {
      if (m.byteLength > this.maxMessageSize) throw new MessageTooLargeError(m.byteLength, this.maxMessageSize);
      bytes += HEADER + m.byteLength;
    }
    // One write per batch: each write is at least one TLS record.
    const out = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (const m of msgs) {
      out.writeUInt32BE(m.byteLength, off);
      out.set(m, off + HEADER);
      off += HEADER + m.byteLength;
    }
    const socket = this.#socket;
    const more = socket.write(out);
    this.stats.sent += msgs.length;
    if (!more) await drained(socket, opts?.signal);
  }

  protected async onClose(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed) return;
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}
