/**
 * The negotiation side of a base connection. Datagram transports carry
 * negotiation messages and data side by side for the whole connection (a
 * late duplicate must still be recognised), so every message is tagged.
 * Stream transports are reliable and ordered: one negotiation message goes
 * each way first, then the base connection carries data untagged, with no
 * copy and no extra layer.
 */
import { AbstractConn, ConnClosedError, type BaseConn, type CallOptions, type Conn, type QueueSink } from '@bertha/core';
import {
  TAG_DATA,
  TAG_NEGOTIATION_WITH_DATA,
  decodeMessage,
  decodeMessageWithData,
  encodeMessage,
  encodeMessageWithData,
  withDataStart,
  type WireMessage,
} from './wire.js';

export interface ChannelHandler {
  /** A well-formed negotiation message arrived. */
  message(msg: WireMessage): void;
  /** The base connection ended: `err` says why, undefined when it was closed at this end. */
  end(err: Error | undefined): void;
}

/** The handler of a channel nobody listens to: messages are dropped. */
export const idle: ChannelHandler = { message: () => undefined, end: () => undefined };

/** Data messages kept per connection before its stack is accepted (0-RTT data racing ahead); more are dropped. */
export const HOLD_LIMIT = 1024;

export interface Channel {
  readonly datagram: boolean;
  /** The connection to build the stack over: data only. */
  readonly data: Conn<Uint8Array>;
  readonly closed: boolean;
  handler: ChannelHandler;
  sendMessage(msg: WireMessage): Promise<void>;
  /** Sends `msg` in the datagram of the next data message if one is sent before the event loop turns, else alone. */
  sendWithData(msg: WireMessage): void;
  /** Sends `msg` after the event loop turns unless data went out meanwhile (data implies it: an ack). */
  sendUnlessData(msg: WireMessage): void;
  /**
   * Stream transports: reads the one negotiation message expected next.
   * Datagram transports: starts reading (`read`).
   */
  expectMessage(): void;
  /**
   * Datagram transports: starts reading the base connection, for good (every
   * datagram may carry a negotiation message); call it once `handler` is
   * set. Stream transports: nothing (reads are the application's).
   */
  read(): void;
  /** The stack was accepted: data is no longer held back under `HOLD_LIMIT`. */
  accepted(): void;
  close(): Promise<void>;
}

export function openChannel(base: BaseConn, datagram: boolean, onMalformed: () => void): Channel {
  return datagram ? new DatagramChannel(base, onMalformed) : new StreamChannel(base, onMalformed);
}

class StreamChannel implements Channel {
  readonly datagram = false;
  readonly data: Conn<Uint8Array>;
  handler: ChannelHandler = idle;
  readonly #base: BaseConn;
  readonly #onMalformed: () => void;

  constructor(base: BaseConn, onMalformed: () => void) {
    this.#base = base;
    this.data = base;
    this.#onMalformed = onMalformed;
  }

  get closed(): boolean {
    return this.#base.closed;
  }

  sendMessage(msg: WireMessage): Promise<void> {
    return this.#base.send(encodeMessage(msg));
  }

  // On a stream the negotiation message must be the first one: no piggybacking, no deferring.
  sendWithData(msg: WireMessage): void {
    this.sendMessage(msg).catch(() => undefined);
  }

  sendUnlessData(msg: WireMessage): void {
    this.sendMessage(msg).catch(() => undefined);
  }

  expectMessage(): void {
    this.#base.recv().then(
      (bytes) => {
        const msg = decodeMessage(bytes);
        if (msg) return this.handler.message(msg);
        // A stream cannot be resynchronised: give up on this peer only.
        this.#onMalformed();
        void this.close();
        this.handler.end(new ConnClosedError('the peer sent a malformed negotiation message'));
      },
      (err: unknown) => this.handler.end(err instanceof Error ? err : new ConnClosedError()),
    );
  }

  read(): void {}

  accepted(): void {}

  close(): Promise<void> {
    return this.#base.close();
  }
}

/** Tags data with `TAG_DATA` on the way down; splits data from negotiation messages on the way up. */
class DatagramChannel extends AbstractConn<Uint8Array> implements Channel, BaseConn, QueueSink<Uint8Array> {
  readonly datagram = true;
  readonly local: unknown;
  readonly remote: unknown;
  readonly maxMessageSize: number;
  handler: ChannelHandler = idle;
  /** 0-RTT client: the `use` request that the first data message answers (data from the server means it accepted). */
  dataAnswers: WireMessage | undefined;
  readonly #base: BaseConn;
  readonly #onMalformed: () => void;
  #holding = true;
  #reading = false;
  /** A negotiation message waiting to ride with the next data message. */
  #rider: WireMessage | undefined;

  constructor(base: BaseConn, onMalformed: () => void) {
    super();
    this.#base = base;
    this.#onMalformed = onMalformed;
    this.local = base.local;
    this.remote = base.remote;
    this.maxMessageSize = base.maxMessageSize - 1;
  }

  get data(): Conn<Uint8Array> {
    return this;
  }

  override send(msg: Uint8Array, opts?: CallOptions): Promise<void> {
    this.stats.sent++;
    return this.#base.send(this.#rider ? this.#ride(msg) : tag(msg), opts);
  }

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    this.stats.sent += msgs.length;
    const out: Uint8Array[] = new Array<Uint8Array>(msgs.length);
    let i = 0;
    if (this.#rider && msgs.length > 0) out[i++] = this.#ride(msgs[0]!);
    for (; i < msgs.length; i++) out[i] = tag(msgs[i]!);
    return this.#base.sendBatch(out, opts);
  }

  sendMessage(msg: WireMessage): Promise<void> {
    return this.#base.send(encodeMessage(msg));
  }

  sendWithData(msg: WireMessage): void {
    this.#rider = msg;
    defer({ ch: this, msg, sent: -1 });
  }

  sendUnlessData(msg: WireMessage): void {
    defer({ ch: this, msg, sent: this.stats.sent });
  }

  /** After the event loop turned: sends a deferred message unless data carried it or implied it. */
  static flush(d: Deferred): void {
    const ch = d.ch;
    if (d.sent < 0) {
      if (ch.#rider !== d.msg) return;
      ch.#rider = undefined;
    } else if (ch.stats.sent !== d.sent) {
      return;
    }
    if (!ch.closed) ch.sendMessage(d.msg).catch(() => undefined);
  }

  #ride(data: Uint8Array): Uint8Array {
    const msg = this.#rider as WireMessage;
    this.#rider = undefined;
    const both = encodeMessageWithData(msg, data);
    if (both && both.byteLength <= this.#base.maxMessageSize) return both;
    // Too big to share a datagram: the message goes alone, first.
    this.sendMessage(msg).catch(() => undefined);
    return tag(data);
  }

  expectMessage(): void {
    this.read();
  }

  read(): void {
    if (this.#reading) return;
    this.#reading = true;
    // Our base connections hand each datagram over as it arrives; others are read in a loop.
    if (this.#base instanceof AbstractConn) this.#base.divert(this);
    else void this.#pump();
  }

  accepted(): void {
    this.#holding = false;
  }

  protected async onClose(): Promise<void> {
    // Closed here: the base's end need not come back up, and its error need not be made.
    if (this.#reading && this.#base instanceof AbstractConn) this.#base.divert(undefined);
    this.handler.end(undefined);
    await this.#base.close();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        for (const m of await this.#base.recvBatch(256)) this.onMessage(m);
      }
    } catch (err) {
      this.onEnd(err instanceof Error ? err : new ConnClosedError());
    }
  }

  /** @internal The base connection ended. */
  onEnd(err: Error): void {
    this.ended(err);
    this.handler.end(err);
  }

  /** @internal A datagram from the base connection. */
  onMessage(m: Uint8Array): void {
    switch (m[0]) {
      case TAG_DATA:
        return this.#deliver(m.subarray(1));
      case TAG_NEGOTIATION_WITH_DATA: {
        const msg = decodeMessageWithData(m);
        if (!msg) return this.#onMalformed();
        // The message first: on a server it is what accepts the data that follows.
        this.handler.message(msg);
        return this.#deliver(m.subarray(withDataStart(m)));
      }
      default: {
        const msg = decodeMessage(m);
        if (msg) this.handler.message(msg);
        else this.#onMalformed();
      }
    }
  }

  #deliver(data: Uint8Array): void {
    if (this.#holding && this.inbox.size >= HOLD_LIMIT) {
      this.stats.dropped++;
      return;
    }
    this.stats.received++;
    const use = this.dataAnswers;
    if (use) {
      // Before the data reaches the application, so its stack is confirmed by then.
      this.dataAnswers = undefined;
      this.handler.message({ t: 'ack', nonce: use.nonce });
    }
    this.inbox.push(data);
  }
}

/** A negotiation message held until the event loop turns: a rider (`sent` < 0), or one that data sent meanwhile makes needless. */
interface Deferred {
  readonly ch: DatagramChannel;
  readonly msg: WireMessage;
  /** Data messages the channel had sent when the message was deferred; -1 for a rider. */
  readonly sent: number;
}

/** Deferred messages of every channel: one `setImmediate` for all of them, not one per connection. */
let deferred: Deferred[] = [];

function defer(d: Deferred): void {
  deferred.push(d);
  if (deferred.length === 1) setImmediate(flushDeferred);
}

function flushDeferred(): void {
  const batch = deferred;
  deferred = [];
  for (const d of batch) DatagramChannel.flush(d);
}

function tag(m: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(m.byteLength + 1);
  out[0] = TAG_DATA;
  out.set(m, 1);
  return out;
}

/** Datagram transports: the first data message from the peer also answers `use` with an ack. */
export function onFirstData(ch: Channel, use: WireMessage): void {
  if (ch instanceof DatagramChannel) ch.dataAnswers = use;
}
