/**
 * The sendbox over real sockets: a UDP relay at the sending site. Senders
 * send their datagrams to it; it queues them in the simulator's `Sendbox`
 * (same scheduler, same CCP datapath and agent, same epoch measurement, on
 * the wall clock), and what the sendbox lets out crosses the bottleneck to
 * the receivebox relay in `data` frames. Replies for a sender (its
 * transport's ACKs) come back in `reverse` frames and are handed to the
 * sender from the address it sent to; congestion ACKs feed the sendbox.
 *
 * The relay does not terminate the senders' connections: it only queues
 * and forwards their datagrams, as the published sendbox queues packets.
 * IPv4 only (a data frame carries the sender's IPv4 address as its header).
 */
import type { Socket } from 'node:dgram';
import { InvalidArgumentError } from '@bertha/core';
import { inProcessCcpHost, realClock, type CcpHost } from '@bertha/ccp';
import type { EpochEstimate } from '../epoch-meter.js';
import { FifoScheduler } from '../fifo-scheduler.js';
import type { InvariantHeader } from '../header-hash.js';
import type { Scheduler } from '../scheduler.js';
import { bundleCopa, Sendbox, type BundlePacket } from '../sendbox.js';
import { SfqScheduler } from '../sfq-scheduler.js';
import { decodeFrame, encodeData, encodePeriod, invariantHeader, ipv4ToNumber, UDP_IPV4_OVERHEAD, type FlowAddress } from './frame.js';
import { bindUdp4, checkUdp4Address, closeUdp4, udp4AddressOf, type Udp4Address } from './udp4-socket.js';

export interface SendboxRelayOptions {
  /** Where senders send. Port 0: any free port (see `address`). */
  readonly listen: Udp4Address;
  /** The receivebox relay. */
  readonly receivebox: Udp4Address;
  /** The sendbox's queue discipline. */
  readonly scheduler: 'sfq' | 'fifo';
  /** The sendbox's buffer, bytes on the wire. */
  readonly bufferBytes: number;
  /** The agent algorithm over the bundle, by name. Default 'copa'. */
  readonly algorithm?: string;
  /** A CCP host on the wall clock with `algorithm`. Default: an in-process agent with `bundleCopa` (closed with the relay). */
  readonly ccpHost?: CcpHost;
  /** The bundle's packet size on the wire, bytes. Default 1500. */
  readonly mss?: number;
  /** Forget a sender silent this long, ms. Default 30,000. */
  readonly idleMs?: number;
  /** Called with each epoch measurement. */
  readonly onEstimate?: (e: EpochEstimate) => void;
  readonly signal?: AbortSignal;
}

export interface SendboxRelayStats {
  /** Senders seen (and not yet forgotten). */
  flows: number;
  /** Datagrams from senders, and those that left towards the receivebox. */
  received: number;
  forwarded: number;
  /** Replies handed back to senders. */
  reversed: number;
  /** Datagrams that were no frame we know, came from elsewhere than the receivebox, or were for a forgotten sender. */
  discarded: number;
}

/** A datagram of the bundle, queued in the sendbox as its data frame. */
interface RelayPacket extends BundlePacket {
  readonly frame: Buffer;
}

interface SenderFlow {
  readonly id: number;
  readonly address: FlowAddress;
  readonly host: string;
  ipId: number;
  lastMs: number;
}

/**
 * Timers on an event loop fire a millisecond or more late; the rate limiter
 * makes up that much lateness at once instead of losing it.
 */
const CATCH_UP_US = 4000;

export class SendboxRelay {
  readonly stats: SendboxRelayStats = { flows: 0, received: 0, forwarded: 0, reversed: 0, discarded: 0 };
  readonly sendbox: Sendbox<RelayPacket>;
  readonly #ingress: Socket;
  readonly #wan: Socket;
  readonly #receivebox: Udp4Address;
  readonly #flows = new Map<number, SenderFlow>();
  readonly #ownHost: CcpHost | undefined;
  readonly #sweep: NodeJS.Timeout;
  #nextFlow = 0;
  #closed = false;

  /** Use `startSendboxRelay`. */
  constructor(ingress: Socket, wan: Socket, o: SendboxRelayOptions) {
    this.#ingress = ingress;
    this.#wan = wan;
    this.#receivebox = o.receivebox;
    const clock = realClock({ unref: true });
    this.#ownHost = o.ccpHost === undefined ? inProcessCcpHost({ clock, algorithms: [bundleCopa()] }) : undefined;
    const host = o.ccpHost ?? this.#ownHost!;
    const scheduler: Scheduler<RelayPacket> = o.scheduler === 'sfq' ? new SfqScheduler({ limitBytes: o.bufferBytes }) : new FifoScheduler({ limitBytes: o.bufferBytes });
    this.sendbox = new Sendbox<RelayPacket>(host, {
      scheduler,
      algorithm: o.algorithm,
      mss: o.mss ?? 1500,
      catchUpUs: CATCH_UP_US,
      onEstimate: o.onEstimate,
      out: (p) => {
        this.stats.forwarded++;
        this.#toReceivebox(p.frame);
      },
      sendPeriod: (n) => this.#toReceivebox(encodePeriod(n)),
    });
    ingress.on('message', (msg, rinfo) => this.#fromSender(msg, rinfo.address, rinfo.port));
    wan.on('message', (msg, rinfo) => {
      if (rinfo.address === this.#receivebox.host && rinfo.port === this.#receivebox.port) this.#fromReceivebox(msg);
      else this.stats.discarded++;
    });
    // A failed send (a full socket buffer, an unreachable peer) loses that datagram, as a router would; the relay keeps going.
    ingress.on('error', () => this.stats.discarded++);
    wan.on('error', () => this.stats.discarded++);
    const idleMs = o.idleMs ?? 30_000;
    this.#sweep = setInterval(() => this.#forgetIdle(idleMs), Math.max(100, idleMs / 2)).unref();
  }

  /** Where senders send. */
  get address(): Udp4Address {
    return udp4AddressOf(this.#ingress);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.sendbox.close();
    await this.#ownHost?.close();
    await closeUdp4([this.#ingress, this.#wan]);
  }

  #fromSender(msg: Buffer, host: string, port: number): void {
    if (this.#closed) return;
    this.stats.received++;
    const ip = ipv4ToNumber(host);
    if (ip === undefined) {
      this.stats.discarded++;
      return;
    }
    const key = ip * 65536 + port;
    let f = this.#flows.get(key);
    if (f === undefined) {
      f = { id: this.#nextFlow++ >>> 0, address: { ip, port }, host, ipId: 0, lastMs: 0 };
      this.#flows.set(key, f);
      this.stats.flows = this.#flows.size;
    }
    f.lastMs = performance.now();
    const header: InvariantHeader = invariantHeader(f.address, f.ipId++);
    const frame = encodeData(header, msg);
    this.sendbox.enqueue({ frame, header, bytes: frame.length + UDP_IPV4_OVERHEAD }, f.id);
  }

  #fromReceivebox(msg: Buffer): void {
    if (this.#closed) return;
    const frame = decodeFrame(msg);
    if (frame?.kind === 'feedback') {
      this.sendbox.onFeedback(frame.feedback);
      return;
    }
    const f = frame?.kind === 'reverse' ? this.#flows.get(frame.flow.ip * 65536 + frame.flow.port) : undefined;
    if (frame?.kind !== 'reverse' || f === undefined) {
      this.stats.discarded++;
      return;
    }
    this.stats.reversed++;
    this.#ingress.send(frame.payload, f.address.port, f.host);
  }

  #toReceivebox(b: Buffer): void {
    if (!this.#closed) this.#wan.send(b, this.#receivebox.port, this.#receivebox.host);
  }

  #forgetIdle(idleMs: number): void {
    const before = performance.now() - idleMs;
    for (const [k, f] of this.#flows) if (f.lastMs < before) this.#flows.delete(k);
    this.stats.flows = this.#flows.size;
  }
}

/** Binds the relay's sockets (senders' side at `listen`, the WAN side on any port) and starts it. */
export async function startSendboxRelay(o: SendboxRelayOptions): Promise<SendboxRelay> {
  checkUdp4Address(o.listen, 'listen', true);
  checkUdp4Address(o.receivebox, 'receivebox');
  if (!(o.bufferBytes > 0)) throw new InvalidArgumentError(`bufferBytes must be positive, got ${o.bufferBytes}`);
  if (o.scheduler !== 'sfq' && o.scheduler !== 'fifo') throw new InvalidArgumentError(`scheduler must be 'sfq' or 'fifo', got ${String(o.scheduler)}`);
  const ingress = await bindUdp4(o.listen, o.signal);
  try {
    const wan = await bindUdp4({ host: '0.0.0.0', port: 0 }, o.signal);
    return new SendboxRelay(ingress, wan, o);
  } catch (err) {
    ingress.close();
    throw err;
  }
}
