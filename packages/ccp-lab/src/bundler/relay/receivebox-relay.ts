/**
 * The receivebox over real sockets: a UDP relay at the receiving site. Each
 * `data` frame from the sendbox relay is counted by the simulator's
 * `Receivebox` (which sends a congestion ACK for each epoch boundary) and its
 * payload is forwarded to `target` from a socket of that sender's own, so
 * the target sees one peer per sender, as without the relays. What the
 * target answers on that socket goes back to the sendbox in a `reverse`
 * frame. It never delays or changes the bundle's datagrams.
 *
 * One sendbox per receivebox: replies and congestion ACKs go to the address
 * the latest frame came from.
 */
import { createSocket, type Socket } from 'node:dgram';
import { Receivebox } from '../receivebox.js';
import { decodeFrame, encodeFeedback, encodeReverse, UDP_IPV4_OVERHEAD, type FlowAddress } from './frame.js';
import { bindUdp4, checkUdp4Address, closeUdp4, udp4AddressOf, type Udp4Address } from './udp4-socket.js';

export interface ReceiveboxRelayOptions {
  /** Where the sendbox relay sends. Port 0: any free port (see `address`). */
  readonly listen: Udp4Address;
  /** Where the bundle's datagrams go: the receiving site's server. */
  readonly target: Udp4Address;
  /** Close a sender's socket after this long without traffic either way, ms. Default 30,000. */
  readonly idleMs?: number;
  readonly signal?: AbortSignal;
}

export interface ReceiveboxRelayStats {
  /** Senders with a socket towards the target. */
  flows: number;
  /** Datagrams forwarded to the target, and replies sent back. */
  forwarded: number;
  reversed: number;
  /** Datagrams that were no frame we know (or a period out of range). */
  discarded: number;
}

interface TargetFlow {
  readonly socket: Socket;
  lastMs: number;
}

export class ReceiveboxRelay {
  readonly stats: ReceiveboxRelayStats = { flows: 0, forwarded: 0, reversed: 0, discarded: 0 };
  readonly receivebox: Receivebox;
  readonly #wan: Socket;
  readonly #target: Udp4Address;
  readonly #flows = new Map<number, TargetFlow>();
  readonly #sweep: NodeJS.Timeout;
  /** The sendbox relay, as of its latest frame. */
  #peer: { address: string; port: number } | undefined;
  #closed = false;

  /** Use `startReceiveboxRelay`. */
  constructor(wan: Socket, o: ReceiveboxRelayOptions) {
    this.#wan = wan;
    this.#target = o.target;
    this.receivebox = new Receivebox((fb) => this.#toSendbox(encodeFeedback(fb)));
    wan.on('message', (msg, rinfo) => this.#fromSendbox(msg, rinfo.address, rinfo.port));
    // A failed send loses that datagram, as a router would; the relay keeps going.
    wan.on('error', () => this.stats.discarded++);
    const idleMs = o.idleMs ?? 30_000;
    this.#sweep = setInterval(() => this.#closeIdle(idleMs), Math.max(100, idleMs / 2)).unref();
  }

  get address(): Udp4Address {
    return udp4AddressOf(this.#wan);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    const sockets = [this.#wan, ...[...this.#flows.values()].map((f) => f.socket)];
    this.#flows.clear();
    await closeUdp4(sockets);
  }

  #fromSendbox(msg: Buffer, address: string, port: number): void {
    if (this.#closed) return;
    const frame = decodeFrame(msg);
    if (frame?.kind === 'data') {
      this.#peer = { address, port };
      this.receivebox.onPacket(frame.header, msg.length + UDP_IPV4_OVERHEAD);
      const flow: FlowAddress = { ip: frame.header.srcIp, port: frame.header.srcPort };
      const f = this.#flowFor(flow);
      f.lastMs = performance.now();
      this.stats.forwarded++;
      f.socket.send(frame.payload, this.#target.port, this.#target.host);
      return;
    }
    if (frame?.kind === 'period') {
      try {
        this.receivebox.setPeriod(frame.period);
        this.#peer = { address, port };
        return;
      } catch {
        // Not a power of two in range: a corrupt or foreign message, discarded below.
      }
    }
    this.stats.discarded++;
  }

  #flowFor(flow: FlowAddress): TargetFlow {
    const key = flow.ip * 65536 + flow.port;
    const known = this.#flows.get(key);
    if (known !== undefined) return known;
    // Unbound: the first send binds it to a free port, so no await sits on the packet path.
    const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    const f: TargetFlow = { socket, lastMs: performance.now() };
    socket.on('message', (reply, rinfo) => {
      if (this.#closed || rinfo.port !== this.#target.port || rinfo.address !== this.#target.host || this.#peer === undefined) return;
      f.lastMs = performance.now();
      this.stats.reversed++;
      this.#toSendbox(encodeReverse(flow, reply));
    });
    socket.on('error', () => this.stats.discarded++);
    this.#flows.set(key, f);
    this.stats.flows = this.#flows.size;
    return f;
  }

  #toSendbox(b: Buffer): void {
    if (!this.#closed && this.#peer !== undefined) this.#wan.send(b, this.#peer.port, this.#peer.address);
  }

  #closeIdle(idleMs: number): void {
    const before = performance.now() - idleMs;
    for (const [k, f] of this.#flows) {
      if (f.lastMs >= before) continue;
      this.#flows.delete(k);
      f.socket.close();
    }
    this.stats.flows = this.#flows.size;
  }
}

export async function startReceiveboxRelay(o: ReceiveboxRelayOptions): Promise<ReceiveboxRelay> {
  checkUdp4Address(o.listen, 'listen', true);
  checkUdp4Address(o.target, 'target');
  return new ReceiveboxRelay(await bindUdp4(o.listen, o.signal), o);
}
