/** First in, first out, with a drop-tail byte limit: what a router does by default. */
import { InvalidArgumentError } from '@bertha/core';
import type { Packet } from '../link/link.js';
import { PacketFifo } from './packet-fifo.js';
import type { Scheduler } from './scheduler.js';

export class FifoScheduler<P extends Packet> implements Scheduler<P> {
  drops = 0;
  readonly #limit: number;
  readonly #q = new PacketFifo<P>();

  constructor(opts: { limitBytes: number }) {
    if (!(opts.limitBytes > 0)) throw new InvalidArgumentError(`limitBytes must be positive, got ${opts.limitBytes}`);
    this.#limit = opts.limitBytes;
  }

  get bytes(): number {
    return this.#q.bytes;
  }

  get packets(): number {
    return this.#q.length;
  }

  enqueue(p: P): boolean {
    if (this.#q.bytes + p.bytes > this.#limit) {
      this.drops++;
      return false;
    }
    this.#q.push(p);
    return true;
  }

  dequeue(): P | undefined {
    return this.#q.shift();
  }
}
