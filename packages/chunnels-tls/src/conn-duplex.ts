import { Duplex } from 'node:stream';
import { ConnClosedError, type Conn, type QueueSink } from '@bertha/core';

/** A Conn that can hand its messages to a sink as they arrive (core's `AbstractConn.divert`). */
interface Divertible {
  divert(sink: QueueSink<Uint8Array> | undefined): void;
}

const divertible = (conn: Conn<Uint8Array>): conn is Conn<Uint8Array> & Divertible =>
  typeof (conn as Partial<Divertible>).divert === 'function';

/** How many messages one read asks the Conn below for. */
const READ_BATCH = 64;

/**
 * A byte stream over a message Conn, for `node:tls` to run on: every write
 * becomes one message below, every message below is a chunk of the stream.
 * A Conn that can divert (the base connections of @bertha/core) pushes its
 * messages in as they arrive, with no promise per message; any other Conn is
 * read by a loop of `recvBatch`.
 */
export class ConnDuplex extends Duplex {
  readonly #conn: Conn<Uint8Array>;
  #reading = false;

  constructor(conn: Conn<Uint8Array>) {
    super({ allowHalfOpen: false });
    this.#conn = conn;
    // The TLS socket on top reports the Conn's failures; the stream itself must not throw them again.
    this.on('error', () => undefined);
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    const conn = this.#conn;
    if (divertible(conn)) {
      conn.divert({
        onMessage: (m) => void this.push(m),
        onEnd: (err) => this.#ended(err),
      });
    } else {
      void this.#loop();
    }
  }

  async #loop(): Promise<void> {
    for (;;) {
      let msgs: Uint8Array[];
      try {
        msgs = await this.#conn.recvBatch(READ_BATCH);
      } catch (err) {
        this.#ended(err as Error);
        return;
      }
      for (const m of msgs) this.push(m);
    }
  }

  #ended(err: Error): void {
    if (err instanceof ConnClosedError) this.push(null);
    else this.destroy(err);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#conn.send(chunk).then(() => done(), done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.#conn.sendBatch(chunks.map((c) => c.chunk)).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#conn.close().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#conn.close().then(
      () => done(err),
      () => done(err),
    );
  }
}
