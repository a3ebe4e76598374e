/**
 * The negotiation side of a base connection. Datagram transports carry
 * negotiation messages and data side by side for the whole connection (a
 * late duplicate must still be recognised), so every message is tagged, and
 * a connection ends with a `close` the peer answers (UDP has no close of its
 * own). Stream transports are reliable and ordered: one negotiation message
 * goes each way first, then the base connection carries data untagged, with
 * no copy and no extra layer, and ends as the stream does.
 */
import { AbstractConn, ConnClosedError, DecodeError, type BaseConn, type CallOptions, type Conn, type QueueSink } from '@bertha/core';
import { schedule, unschedule, type Timed } from './due-timer.js';
import { idle, type ChannelHandler } from './handler.js';
import type { EarlyData } from './negotiation.js';
import { exchange, type RetransmitOptions } from './request.js';
import { TAG_DATA, TAG_EARLY_DATA, dataStart, isNegotiation, nonce, type WireCodec, type WireMessage } from './wire.js';

/** Data messages kept per connection before its stack is accepted (0-RTT data racing ahead); more are dropped. */
export const HOLD_LIMIT = 1024;

/** Longest a datagram connection's `close` waits for the peer's `closed`. */
export const MAX_CLOSE_WAIT_MS = 1000;

/** How long a listener's connection, closed by its application, waits for the client's own `close` before sending one. */
export const PEER_CLOSES_WITHIN_MS = 100;

export interface ChannelOptions {
  readonly codec: WireCodec;
  /** Counts a message that is not ours or does not decode (it is dropped). */
  readonly onMalformed: () => void;
  /** Datagram transports: how `close` is re-sent, for at most `closeWaitMs`. */
  readonly retransmit: RetransmitOptions | undefined;
  readonly closeWaitMs: number;
  /** Datagram transports: on `close`, first wait this long for the peer's `close` (and answer it) before sending one. */
  readonly peerClosesWithinMs?: number;
}

export interface Channel {
  readonly datagram: boolean;
  /** The connection to build the stack over: data only. */
  readonly data: Conn<Uint8Array>;
  readonly closed: boolean;
  handler: ChannelHandler;
  /** Datagrams received (datagram transports): a listener that sees it stand still knows the peer is silent. */
  readonly heard: number;
  /** Data messages received that the peer sent as 0-RTT early data. */
  readonly early: EarlyData;
  sendMessage(msg: WireMessage): Promise<void>;
  /** Sends `msg` in the datagram of the next data message if one is sent before the microtask queue drains, else alone. */
  sendWithData(msg: WireMessage): void;
  /** Sends `msg` once the microtask queue drained unless data went out meanwhile (data implies it: an ack). */
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
  /** Closes, telling the peer (datagram transports: `close`, re-sent until answered or `closeWaitMs`). */
  close(): Promise<void>;
  /** Closes without a word to the peer: it is gone, or is about to be told otherwise. */
  drop(): Promise<void>;
  /** `close`, sending `close` at once (not waiting `peerClosesWithinMs` for the peer's): the listener is closing. */
  closeNow(): Promise<void>;
}

/** A client's channel options (malformed messages are dropped uncounted: nothing reports them on a client). */
export function clientChannel(codec: WireCodec, retransmit: RetransmitOptions | undefined, closeWaitMs: number): ChannelOptions {
  return { codec, onMalformed: () => undefined, retransmit, closeWaitMs };
}

/** `opts` may be shared by every channel of an endpoint; `peer` names the other end in errors. */
export function openChannel(base: BaseConn, datagram: boolean, opts: ChannelOptions, peer: string): Channel {
  return datagram ? new DatagramChannel(base, opts, peer) : new StreamChannel(base, opts);
}

const noEarlyData: EarlyData = { messages: 0 };

class StreamChannel implements Channel {
  readonly datagram = false;
  readonly data: Conn<Uint8Array>;
  readonly heard = 0;
  readonly early = noEarlyData;
  handler: ChannelHandler = idle;
  readonly #base: BaseConn;
  readonly #opts: ChannelOptions;

  constructor(base: BaseConn, opts: ChannelOptions) {
    this.#base = base;
    this.data = base;
    this.#opts = opts;
  }

  get closed(): boolean {
    return this.#base.closed;
  }

  sendMessage(msg: WireMessage): Promise<void> {
    return this.#base.send(this.#opts.codec.encode(msg));
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
        let msg: WireMessage;
        try {
          msg = this.#opts.codec.decode(bytes);
        } catch (err) {
          return this.#malformed(err);
        }
        this.handler.message(msg);
      },
      (err: unknown) => {
        // Bytes that are not even a frame (random bytes read as a length over the limit): malformed too.
        if (err instanceof DecodeError || (err instanceof ConnClosedError && err.cause instanceof DecodeError)) return this.#malformed(err);
        this.handler.end(err instanceof Error ? err : new ConnClosedError());
      },
    );
  }

  /** A stream cannot be resynchronised: give up on this peer only. */
  #malformed(err: unknown): void {
    this.#opts.onMalformed();
    void this.close();
    this.handler.end(new ConnClosedError('the peer sent a malformed negotiation message', { cause: err }));
  }

  read(): void {}

  accepted(): void {}

  close(): Promise<void> {
    return this.#base.close();
  }

  drop(): Promise<void> {
    return this.#base.close();
  }

  closeNow(): Promise<void> {
    return this.#base.close();
  }
}

/** Tags data on the way down; splits data from negotiation messages on the way up; ends with `close`/`closed`. */
class DatagramChannel extends AbstractConn<Uint8Array> implements Channel, BaseConn, QueueSink<Uint8Array> {
  readonly datagram = true;
  readonly local: unknown;
  readonly remote: unknown;
  readonly maxMessageSize: number;
  handler: ChannelHandler = idle;
  heard = 0;
  readonly early = { messages: 0 };
  /** 0-RTT client: the `use` request that the first data message answers (data from the server means it accepted); data sent meanwhile is early. */
  dataAnswers: WireMessage | undefined;
  readonly #base: BaseConn;
  readonly #opts: ChannelOptions;
  readonly #peer: string;
  #holding = true;
  #reading = false;
  /** A negotiation message waiting to ride with the next data message. */
  #rider: WireMessage | undefined;
  /** Data that rode with a negotiation message was delivered: any more such data is a duplicate or a replay. */
  #riderDelivered = false;
  /** Close without telling the peer. */
  #silent = false;
  /** Close without waiting for the peer's `close` first. */
  #now = false;
  /** Closing, and waiting for the peer's `close` first (`peerClosesWithinMs`). */
  #peerClose: PeerCloseWait | undefined;

  constructor(base: BaseConn, opts: ChannelOptions, peer: string) {
    super();
    this.#base = base;
    this.#opts = opts;
    this.#peer = peer;
    this.local = base.local;
    this.remote = base.remote;
    this.maxMessageSize = base.maxMessageSize - 1;
  }

  get data(): Conn<Uint8Array> {
    return this;
  }

  override send(msg: Uint8Array, opts?: CallOptions): Promise<void> {
    this.stats.sent++;
    return this.#base.send(this.#rider ? this.#ride(msg) : this.#tag(msg), opts);
  }

  sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    this.stats.sent += msgs.length;
    const out: Uint8Array[] = new Array<Uint8Array>(msgs.length);
    let i = 0;
    if (this.#rider && msgs.length > 0) out[i++] = this.#ride(msgs[0]!);
    for (; i < msgs.length; i++) out[i] = this.#tag(msgs[i]!);
    return this.#base.sendBatch(out, opts);
  }

  sendMessage(msg: WireMessage): Promise<void> {
    return this.#base.send(this.#opts.codec.encode(msg));
  }

  sendWithData(msg: WireMessage): void {
    this.#rider = msg;
    defer({ ch: this, msg, sent: -1 });
  }

  sendUnlessData(msg: WireMessage): void {
    defer({ ch: this, msg, sent: this.stats.sent });
  }

  /** Once the microtask queue drained: sends a deferred message unless data carried it or implied it. */
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
    const both = this.#opts.codec.encode(msg, data);
    if (both.byteLength <= this.#base.maxMessageSize) return both;
    // Too big to share a datagram: the message goes alone, first.
    this.sendMessage(msg).catch(() => undefined);
    return this.#tag(data);
  }

  #tag(m: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(m.byteLength + 1);
    out[0] = this.dataAnswers ? TAG_EARLY_DATA : TAG_DATA;
    out.set(m, 1);
    return out;
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

  drop(): Promise<void> {
    this.#silent = true;
    return this.close();
  }

  closeNow(): Promise<void> {
    this.#now = true;
    return this.close();
  }

  protected async onClose(): Promise<void> {
    const handler = this.handler;
    this.handler = idle;
    handler.end(undefined);
    // A peer never heard from has no session to end.
    if (!this.#silent && this.heard > 0 && !(await this.#peerClosesFirst())) await this.#closeHandshake();
    await this.#release();
  }

  /** Waits up to `peerClosesWithinMs` for the peer's `close`; true when it came (and was answered). */
  #peerClosesFirst(): Promise<boolean> {
    const ms = this.#opts.peerClosesWithinMs ?? 0;
    if (ms <= 0 || this.#now) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.#peerClose = new PeerCloseWait(Date.now() + ms, resolve);
      schedule(this.#peerClose);
    });
  }

  /** Sends `close` until the peer answers `closed` (or closes too), for at most `closeWaitMs`. */
  #closeHandshake(): Promise<void> {
    const { retransmit, closeWaitMs: timeoutMs } = this.#opts;
    const peer = this.#peer;
    return new Promise<void>((resolve) => {
      exchange(this, { t: 'close', nonce: nonce() }, ['closed'], { timeoutMs, retransmit, signal: undefined, peer }, () => resolve());
    });
  }

  async #release(): Promise<void> {
    // Closed here: the base's end need not come back up, and its error need not be made.
    if (this.#reading && this.#base instanceof AbstractConn) this.#base.divert(undefined);
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
    // Closing already: this ends the `close` handshake, if one runs.
    if (!this.closed) this.ended(err);
    const handler = this.handler;
    this.handler = idle;
    handler.end(err);
  }

  /** @internal A datagram from the base connection. */
  onMessage(m: Uint8Array): void {
    this.heard++;
    const tag = m[0];
    if (tag === TAG_DATA) return this.#deliver(m.subarray(1));
    if (tag === TAG_EARLY_DATA) {
      this.early.messages++;
      return this.#deliver(m.subarray(1));
    }
    if (!isNegotiation(m)) return this.#opts.onMalformed();
    let msg: WireMessage;
    try {
      msg = this.#opts.codec.decode(m);
    } catch {
      return this.#opts.onMalformed();
    }
    if (msg.t === 'close') return this.#peerClosed(msg.nonce);
    if (this.dataAnswers?.nonce === msg.nonce && (msg.t === 'ack' || msg.t === 'reject')) this.dataAnswers = undefined;
    // The message first: on a server it is what accepts the data that follows.
    this.handler.message(msg);
    const at = dataStart(m);
    if (at < 0) return;
    if (this.#riderDelivered) {
      this.stats.dropped++;
      return;
    }
    this.#riderDelivered = true;
    this.early.messages++;
    this.#deliver(m.subarray(at));
  }

  /** The peer closed: answer (every time: an answer may be lost), and end here. */
  #peerClosed(n: number): void {
    const wait = this.#peerClose;
    if (wait && !wait.settled) {
      this.sendMessage({ t: 'closed', nonce: n }).catch(() => undefined);
      return wait.settle(true);
    }
    if (this.closed) {
      // Both ends closed at once: each `close` answers the other's, and no `closed` is sent (it
      // would reach a released connection). Were this end's `close` lost, the peer re-sends its own.
      this.handler.end(undefined);
      return;
    }
    this.sendMessage({ t: 'closed', nonce: n }).catch(() => undefined);
    this.onEnd(new ConnClosedError(`${this.#peer} closed the connection`));
    void this.#release();
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

/** A closing connection's wait for the peer's `close`, on the shared timer (no timer per connection). */
class PeerCloseWait implements Timed {
  settled = false;
  constructor(
    readonly due: number,
    readonly resolve: (came: boolean) => void,
  ) {}

  fire(): void {
    this.settle(false);
  }

  /** The peer's `close` came (true), or the wait is over (false). */
  settle(came: boolean): void {
    if (this.settled) return;
    this.settled = true;
    unschedule(this);
    this.resolve(came);
  }
}

/** A negotiation message held until the microtask queue drains: a rider (`sent` < 0), or one that data sent meanwhile makes needless. */
interface Deferred {
  readonly ch: DatagramChannel;
  readonly msg: WireMessage;
  /** Data messages the channel had sent when the message was deferred; -1 for a rider. */
  readonly sent: number;
}

/**
 * Deferred messages of every channel, flushed together once the microtask
 * queue has drained: by then the promise chains running now (the one that
 * connected or accepted, and the application's code after it) have sent
 * what they send at once. A microtask that queues a tick: ticks run after
 * the microtask queue; a tick queued straight from a socket's callback would
 * run before it. Not `setImmediate`: that costs an event-loop iteration (and
 * an `epoll_wait`) per connection on each end.
 */
let deferred: Deferred[] = [];

function defer(d: Deferred): void {
  deferred.push(d);
  if (deferred.length === 1) queueMicrotask(afterDrain);
}

function afterDrain(): void {
  process.nextTick(flushDeferred);
}

function flushDeferred(): void {
  const batch = deferred;
  deferred = [];
  for (const d of batch) DatagramChannel.flush(d);
}

/** Datagram transports, 0-RTT client: the first data message from the peer also answers `use` with an ack; data sent until the verdict is early. */
export function onFirstData(ch: Channel, use: WireMessage): void {
  if (ch instanceof DatagramChannel) ch.dataAnswers = use;
}
