/** An array-backed FIFO of packets that counts its bytes (shared by the schedulers). */
import type { Packet } from '../link/link.js';

export class PacketFifo<P extends Packet> {
  bytes = 0;
  #items: P[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(p: P): void {
    this.#items.push(p);
    this.bytes += p.bytes;
  }

  /** The oldest packet, left in place. */
  peek(): P | undefined {
    return this.#items[this.#head];
  }

  shift(): P | undefined {
    if (this.#head === this.#items.length) return undefined;
    const p = this.#items[this.#head++]!;
    this.bytes -= p.bytes;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return p;
  }

  /** Removes the newest packet. */
  pop(): P | undefined {
    if (this.#head === this.#items.length) return undefined;
    const p = this.#items.pop()!;
    this.bytes -= p.bytes;
    return p;
  }
}
