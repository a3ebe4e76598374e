/** A FIFO of packets that counts its bytes (the schedulers' queues, the sendbox's record of recent sends). */
import { Deque } from '@bertha/ccp';
import type { Packet } from '../link/link.js';

export class PacketFifo<P extends Packet> {
  bytes = 0;
  readonly #q = new Deque<P>();

  get length(): number {
    return this.#q.size;
  }

  push(p: P): void {
    this.#q.push(p);
    this.bytes += p.bytes;
  }

  /** The oldest packet, left in place. */
  peek(): P | undefined {
    return this.#q.peek();
  }

  shift(): P | undefined {
    const p = this.#q.shift();
    if (p !== undefined) this.bytes -= p.bytes;
    return p;
  }

  /** Removes the newest packet. */
  pop(): P | undefined {
    const p = this.#q.pop();
    if (p !== undefined) this.bytes -= p.bytes;
    return p;
  }
}
