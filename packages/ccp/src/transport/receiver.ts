/**
 * The receiving half of the transport, a synchronous state machine: DATA
 * packets in (`onPacket`), ACKs out (`transmit`), whole messages out in order
 * (`deliver`). ACKs go out at once for out-of-order or duplicate packets and
 * when a hole fills, otherwise after `ackEvery` packets or `ackDelayUs`.
 * The ACK that `ackEvery` calls for leaves when the current event-loop turn
 * ends (`Clock.defer`), covering every packet that arrived in the same turn,
 * up to `STRETCH_ACK_PACKETS`: a backlogged receiver sends one ACK per receive
 * burst (libuv reads up to 32 datagrams per wakeup) rather than one per two
 * packets, as Linux's TCP does per GRO batch. Each ACK costs a send here and
 * a receive and an ACK's processing at the sender, the larger share of both
 * ends' per-packet time on loopback.
 */
import type { Clock, Timer } from './clock.js';
import type { ResolvedTransportOptions } from './options.js';
import { RangeSet } from './range-set.js';
import { decodeData, encodeAck, FLAG_FIRST, FLAG_LAST, type AckFrame, type DataFrame, type PacketSink } from './wire.js';

export interface ReceiverStats {
  /** DATA packets accepted (first copies), and their payload bytes. */
  packets: number;
  bytes: number;
  duplicates: number;
  /** Packets that arrived above a hole. */
  outOfOrder: number;
  acksSent: number;
  /** Packets that did not decode, or broke message framing; dropped. */
  malformed: number;
  /** Packets too far beyond a hole to buffer; dropped (the sender resends them). */
  overflow: number;
  /** ECN-CE-marked packets and their payload bytes. */
  cePackets: number;
  ceBytes: number;
  /** Messages delivered and their bytes. */
  messages: number;
}

/**
 * In-order packets one ACK may cover before it leaves at once: a sender then
 * still takes at least 8 RTT samples per round once its window reaches 64
 * packets, which HyStart++ needs (RFC 9406's N_RTT_SAMPLE). Unbounded
 * coalescing (an ACK per 32-packet burst) left it too few: slow start ran on
 * into losses and a timeout in 3 of 16 loopback runs.
 */
const STRETCH_ACK_PACKETS = 8;

export class TransportReceiver {
  readonly stats: ReceiverStats = {
    packets: 0,
    bytes: 0,
    duplicates: 0,
    outOfOrder: 0,
    acksSent: 0,
    malformed: 0,
    overflow: 0,
    cePackets: 0,
    ceBytes: 0,
    messages: 0,
  };
  /** Called with the payload size of every in-order packet (cheap progress counting). */
  onData: ((bytes: number) => void) | undefined;

  /** Exactly one is set: ACKs leave encoded, or as frames. */
  readonly #transmit: ((ack: Uint8Array) => void) | undefined;
  readonly #transmitFrame: ((f: AckFrame) => void) | undefined;
  readonly #deliver: ((msg: Uint8Array) => void) | undefined;
  readonly #o: ResolvedTransportOptions;
  #rcvNext = 0;
  readonly #ooo = new Map<number, DataFrame>();
  readonly #ranges = new RangeSet();
  #lastOoo = -1;
  #tsecr = 0;
  #unacked = 0;
  readonly #ackTimer: Timer;
  readonly #clock: Clock;
  /** An ACK is deferred to the end of this turn. */
  #ackDeferred = false;
  #parts: Uint8Array[] = [];
  #inMessage = false;
  #closed = false;

  /**
   * Without `deliver`, payloads are counted (`onData`, `stats`) but not
   * reassembled: what simulations of bulk transfers want.
   */
  constructor(clock: Clock, transmit: PacketSink<AckFrame>, o: ResolvedTransportOptions, deliver?: (msg: Uint8Array) => void) {
    if (typeof transmit === 'function') this.#transmit = transmit;
    else this.#transmitFrame = transmit.frame;
    this.#o = o;
    this.#deliver = deliver;
    this.#clock = clock;
    this.#ackTimer = clock.timer(() => this.flushAck());
  }

  /** The next packet expected in order. */
  get nextExpected(): number {
    return this.#rcvNext;
  }

  /** Handles one DATA packet; `ce` says the network marked it Congestion Experienced. */
  onPacket(packet: Uint8Array, ce = false): void {
    if (this.#closed) return;
    const d = decodeData(packet);
    if (d === undefined) this.stats.malformed++;
    else this.onDataFrame(d, ce);
  }

  /** Handles one DATA packet handed over as a frame (see `PacketSink`); as `onPacket` otherwise. */
  onDataFrame(d: DataFrame, ce = false): void {
    if (this.#closed) return;
    const s = this.stats;
    if (d.flags > (FLAG_FIRST | FLAG_LAST)) {
      s.malformed++;
      return;
    }
    if (ce) {
      s.cePackets++;
      s.ceBytes += d.payload.byteLength;
    }
    this.#tsecr = d.tsval;
    const seq = d.seq;
    if (seq < this.#rcvNext || this.#ooo.has(seq)) {
      s.duplicates++;
      this.#sendAck();
      return;
    }
    if (seq >= this.#rcvNext + this.#o.maxReorderPackets) {
      s.overflow++;
      return;
    }
    if (seq !== this.#rcvNext) {
      this.#ooo.set(seq, d);
      this.#ranges.add(seq, seq + 1);
      this.#lastOoo = seq;
      s.outOfOrder++;
      s.packets++;
      this.#sendAck();
      return;
    }
    s.packets++;
    this.#accept(d);
    this.#rcvNext++;
    if (this.#ranges.isEmpty) {
      const unacked = ++this.#unacked;
      if (unacked >= STRETCH_ACK_PACKETS && unacked >= this.#o.ackEvery) this.#sendAck();
      else if (unacked >= this.#o.ackEvery) this.#ackAtTurnEnd();
      else if (!this.#ackTimer.armed) this.#ackTimer.arm(this.#o.ackDelayUs);
      return;
    }
    // A hole filled: deliver what waited behind it and tell the sender at once.
    if (this.#ranges.start(0) === this.#rcvNext) {
      const end = this.#ranges.end(0);
      for (let q = this.#rcvNext; q < end; q++) {
        this.#accept(this.#ooo.get(q)!);
        this.#ooo.delete(q);
      }
      this.#rcvNext = end;
      this.#ranges.dropBelow(end);
    }
    this.#sendAck();
  }

  /** Sends a delayed ACK now, if one is pending. */
  flushAck(): void {
    if (this.#unacked > 0) this.#sendAck();
  }

  /** Stops the ACK timer; later packets are ignored. */
  close(): void {
    this.#closed = true;
    this.#ackTimer.cancel();
  }

  #ackAtTurnEnd(): void {
    if (this.#ackDeferred) return;
    this.#ackDeferred = true;
    this.#clock.defer(this.#deferredAck);
  }

  // An ACK sent meanwhile (out of order, a hole filled, the timer) leaves nothing to send.
  readonly #deferredAck = (): void => {
    this.#ackDeferred = false;
    this.flushAck();
  };

  #accept(d: DataFrame): void {
    const s = this.stats;
    if ((d.flags & FLAG_FIRST) !== 0) {
      if (this.#inMessage) s.malformed++; // the previous message never ended: drop its start
      this.#parts = [];
      this.#inMessage = true;
    } else if (!this.#inMessage) {
      s.malformed++;
      return;
    }
    const n = d.payload.byteLength;
    s.bytes += n;
    this.onData?.(n);
    const deliver = this.#deliver;
    if (deliver !== undefined) this.#parts.push(d.payload);
    if ((d.flags & FLAG_LAST) === 0) return;
    this.#inMessage = false;
    s.messages++;
    if (deliver === undefined) return;
    const parts = this.#parts;
    this.#parts = [];
    deliver(parts.length === 1 ? parts[0]! : concat(parts));
  }

  #sendAck(): void {
    if (this.#closed) return;
    // The delayed-ACK timer is left to expire, finding nothing to send, rather
    // than cancelled: with a real clock that is a `clearTimeout` and a new
    // `setTimeout` per pair of packets. A packet arriving before it expires is
    // then acknowledged sooner than `ackDelayUs`, never later.
    this.#unacked = 0;
    const s = this.stats;
    s.acksSent++;
    // The counts mod 2^32, as the wire carries them (`>>> 0` is exact for integers below 2^53).
    const blocks = this.#ranges.isEmpty ? NO_BLOCKS : this.#sackBlocks();
    const ack: AckFrame = { cumAck: this.#rcvNext, tsecr: this.#tsecr, cePackets: s.cePackets >>> 0, ceBytes: s.ceBytes >>> 0, blocks };
    const transmit = this.#transmit;
    if (transmit !== undefined) transmit(encodeAck(ack));
    else this.#transmitFrame!(ack);
  }

  /** The SACK blocks: the one holding the newest arrival first (RFC 2018), then the lowest ones. */
  #sackBlocks(): number[] {
    const r = this.#ranges;
    const blocks: number[] = [];
    const max = this.#o.maxSackBlocks;
    const newest = r.indexOf(this.#lastOoo);
    if (newest >= 0) blocks.push(r.start(newest), r.end(newest));
    for (let i = 0; i < r.rangeCount && blocks.length < 2 * max; i++) {
      if (i !== newest) blocks.push(r.start(i), r.end(i));
    }
    return blocks;
  }
}

/** The blocks of an ACK with no hole to report, shared: frames are never changed once sent. */
const NO_BLOCKS: readonly number[] = [];

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
