import type { CallOptions } from '../conn/conn.js';
import { AbstractConn } from '../conn/abstract-conn.js';
import { ConnClosedError, InvalidArgumentError, MessageTooLargeError, throwIfAborted } from '../errors.js';
import { AddressError } from './errors.js';
import { publishBaseOpen, publishClose } from '../diagnostics/conn-channels.js';
import { ConnListener } from './listener.js';
import { mulberry32 } from './prng.js';
import { DATAGRAM_MAX_MESSAGE_SIZE, type BaseConn, type Listener, type MemAddress, type Transport } from './transport.js';

/** Faults applied to every message on a network; probabilities are per message, in [0, 1]. */
export interface MemFaults {
  /** Probability that a message is dropped. */
  loss?: number;
  /** Probability that a message is delivered twice. */
  duplicate?: number;
  /** Probability that a message is held back and delivered after the next one (one held at a time per direction). */
  reorder?: number;
  /** Fixed delay added to every message. */
  delayMs?: number;
  /** Uniformly random extra delay in [0, jitterMs) added to every message. */
  jitterMs?: number;
}

export interface MemNetworkOptions extends MemFaults {
  /** Seed of the fault generator: same seed and same sends give the same faults. Default 1. */
  seed?: number;
  /** Largest message, in bytes. Default 65,507, as UDP over IPv4, so stacks tested here fit UDP. */
  maxMessageSize?: number;
}

export interface MemNetworkStats {
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

let fabricOf: (network: MemNetwork) => Fabric;

/**
 * An in-process network of named listeners. Messages are copied on send, so
 * a sender may reuse its buffers. Without faults, delivery is synchronous;
 * with faults, a seeded generator decides loss, duplication, reordering and
 * delay, so a failing test replays exactly.
 */
export class MemNetwork {
  readonly #fabric: Fabric;

  static {
    fabricOf = (network) => network.#fabric;
  }

  constructor(opts: MemNetworkOptions = {}) {
    const max = opts.maxMessageSize ?? DATAGRAM_MAX_MESSAGE_SIZE;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidArgumentError(`maxMessageSize must be a positive integer, got ${max}`);
    }
    this.#fabric = new Fabric(mulberry32(opts.seed ?? 1), max);
    this.setFaults(opts);
  }

  /** Replaces the faults; messages already in flight keep theirs. */
  setFaults(f: MemFaults): void {
    this.#fabric.setFaults(f);
  }

  get stats(): MemNetworkStats {
    return this.#fabric.stats;
  }

  get maxMessageSize(): number {
    return this.#fabric.maxMessageSize;
  }
}

export function memNetwork(opts?: MemNetworkOptions): MemNetwork {
  return new MemNetwork(opts);
}

let defaultNetwork: MemNetwork | undefined;

/** The in-memory transport over `network`, or over one network shared by the whole process. */
export function mem(network?: MemNetwork): Transport<MemAddress> {
  const fabric = fabricOf(network ?? (defaultNetwork ??= new MemNetwork()));
  return {
    kind: 'mem',
    datagram: true,
    connect: async (addr, opts) => fabric.connect(addr, opts),
    listen: async (addr, opts) => fabric.listen(addr, opts),
    format: formatMem,
  };
}

function formatMem(addr: MemAddress): string {
  return `mem:${addr.name}`;
}

function probability(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${name} must be a probability in [0, 1], got ${p}`);
  return p;
}

function duration(name: string, v: number | undefined): number {
  const d = v ?? 0;
  if (!(d >= 0 && Number.isFinite(d))) throw new InvalidArgumentError(`${name} must be a finite number of milliseconds >= 0, got ${d}`);
  return d;
}

/** A message held back to be delivered after the next one from the same end. */
interface Held {
  msg: Uint8Array;
  delay: number;
  timer: NodeJS.Timeout;
}

class Fabric {
  readonly stats: MemNetworkStats = { delivered: 0, lost: 0, duplicated: 0, reordered: 0 };
  readonly maxMessageSize: number;
  readonly #rand: () => number;
  readonly #listeners = new Map<string, ConnListener<MemAddress>>();
  #nextId = 0;
  #loss = 0;
  #duplicate = 0;
  #reorder = 0;
  #delayMs = 0;
  #jitterMs = 0;
  #faulty = false;

  constructor(rand: () => number, maxMessageSize: number) {
    this.#rand = rand;
    this.maxMessageSize = maxMessageSize;
  }

  setFaults(f: MemFaults): void {
    this.#loss = probability('loss', f.loss);
    this.#duplicate = probability('duplicate', f.duplicate);
    this.#reorder = probability('reorder', f.reorder);
    this.#delayMs = duration('delayMs', f.delayMs);
    this.#jitterMs = duration('jitterMs', f.jitterMs);
    this.#faulty = this.#loss + this.#duplicate + this.#reorder + this.#delayMs + this.#jitterMs > 0;
  }

  listen(addr: MemAddress, opts?: CallOptions): Listener<MemAddress> {
    throwIfAborted(opts?.signal);
    // An empty name asks for a fresh one, as port 0 does for sockets.
    const name = addr.name === '' ? `mem-${++this.#nextId}` : addr.name;
    if (this.#listeners.has(name)) {
      throw new AddressError(`mem:${name} is already taken: close its listener first or pick another name`);
    }
    const listener = new ConnListener<MemAddress>('mem', { name }, async () => {
      this.#listeners.delete(name);
    });
    this.#listeners.set(name, listener);
    return listener;
  }

  connect(addr: MemAddress, opts?: CallOptions): BaseConn<MemAddress> {
    throwIfAborted(opts?.signal);
    const listener = this.#listeners.get(addr.name);
    if (!listener) throw new AddressError(`no listener at mem:${addr.name}: listen on it first`);
    const clientAddr = { name: `${addr.name}~client-${++this.#nextId}` };
    const client = new MemConn(this, clientAddr, listener.address, undefined);
    const server = new MemConn(this, listener.address, clientAddr, listener);
    client.peer = server;
    server.peer = client;
    publishBaseOpen(client, 'mem', 'client');
    listener.offer(server);
    return client;
  }

  /** Carries one message (already copied) from `from` to its peer, applying the faults. */
  transmit(from: MemConn, msg: Uint8Array): void {
    if (!this.#faulty) {
      this.#arrive(from, msg);
      return;
    }
    const rand = this.#rand;
    if (this.#loss > 0 && rand() < this.#loss) {
      this.stats.lost++;
      return;
    }
    let copies = 1;
    if (this.#duplicate > 0 && rand() < this.#duplicate) {
      this.stats.duplicated++;
      copies = 2;
    }
    for (let i = 0; i < copies; i++) {
      const delay = this.#delayMs + (this.#jitterMs > 0 ? rand() * this.#jitterMs : 0);
      // A message already held back is passed by this one, so this one goes in order.
      if (this.#reorder > 0 && from.held === undefined && rand() < this.#reorder) {
        this.stats.reordered++;
        this.#hold(from, msg, delay);
      } else {
        this.#schedule(from, msg, delay);
        this.#release(from);
      }
    }
  }

  #hold(from: MemConn, msg: Uint8Array, delay: number): void {
    from.inflight++;
    // Held until the next message passes it; if none comes, it goes late on its own.
    const late = delay + this.#delayMs + this.#jitterMs + 1;
    const timer = setTimeout(() => {
      from.held = undefined;
      from.inflight--;
      this.#arrive(from, msg);
    }, late);
    from.held = { msg, delay, timer };
  }

  /** Sends the held message of `from` right behind what was just scheduled. */
  #release(from: MemConn): void {
    const held = from.held;
    if (!held) return;
    from.held = undefined;
    clearTimeout(held.timer);
    from.inflight--;
    this.#schedule(from, held.msg, held.delay);
  }

  #schedule(from: MemConn, msg: Uint8Array, delay: number): void {
    if (delay <= 0) {
      this.#arrive(from, msg);
      return;
    }
    from.inflight++;
    setTimeout(() => {
      from.inflight--;
      this.#arrive(from, msg);
    }, delay);
  }

  #arrive(from: MemConn, msg: Uint8Array): void {
    if (from.peer.deliver(msg)) this.stats.delivered++;
    if (from.inflight === 0 && from.closing) from.peer.peerClosed();
  }
}

class MemConn extends AbstractConn<Uint8Array> implements BaseConn<MemAddress> {
  readonly local: MemAddress;
  readonly remote: MemAddress;
  /** Set right after construction; the two ends of a link point at each other. */
  peer!: MemConn;
  /** Messages sent by this end that the peer has not received yet. */
  inflight = 0;
  held: Held | undefined;
  /** This end closed; the peer learns it once the messages in flight arrived. */
  closing = false;
  readonly #fabric: Fabric;
  readonly #listener: ConnListener<MemAddress> | undefined;

  constructor(fabric: Fabric, local: MemAddress, remote: MemAddress, listener: ConnListener<MemAddress> | undefined) {
    super();
    this.#fabric = fabric;
    this.local = local;
    this.remote = remote;
    this.#listener = listener;
  }

  get maxMessageSize(): number {
    return this.#fabric.maxMessageSize;
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    throwIfAborted(opts?.signal);
    this.assertOpen();
    const max = this.#fabric.maxMessageSize;
    for (const m of msgs) {
      if (m.byteLength > max) throw new MessageTooLargeError(m.byteLength, max);
    }
    for (const m of msgs) {
      // Copy, as a socket would: the sender may reuse its buffer at once.
      this.#fabric.transmit(this, Buffer.from(m));
    }
    this.stats.sent += msgs.length;
  }

  /** Takes a message from the link; false when this end is closed and drops it. */
  deliver(msg: Uint8Array): boolean {
    if (this.closed) return false;
    this.stats.received++;
    this.inbox.push(msg);
    return true;
  }

  peerClosed(): void {
    if (!this.closed) {
      this.ended();
      publishClose(this, 'mem', 'peer', () => new ConnClosedError('the peer closed the connection'));
    }
    this.#listener?.forget(this);
  }

  protected async onClose(): Promise<void> {
    this.#listener?.forget(this);
    publishClose(this, 'mem', 'local');
    this.closing = true;
    if (this.inflight === 0) this.peer.peerClosed();
  }
}
