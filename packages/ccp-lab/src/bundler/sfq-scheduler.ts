/**
 * Stochastic fair queueing (McKenney '90, as Linux `sfq`): flows hash into
 * buckets, and buckets with packets are served round robin, a quantum of
 * bytes per turn (deficit round robin). A flow with a few packets waits for
 * one turn of each backlogged bucket, not behind their whole backlog. When
 * the buffer is full the longest bucket loses its newest packet, so the
 * flows that fill the buffer pay for it.
 */
import { InvalidArgumentError } from '@bertha/core';
import type { Packet } from '../link/link.js';
import { PacketFifo } from './packet-fifo.js';
import type { Scheduler } from './scheduler.js';

export interface SfqOptions {
  /** Total buffer, bytes. */
  readonly limitBytes: number;
  /** Hash buckets. Default 1024 (Linux's default). */
  readonly buckets?: number;
  /** Bytes a bucket may send per turn. Default 1514. */
  readonly quantumBytes?: number;
  /** Perturbs the flow → bucket hash, so colliding flows differ between runs. Default 0. */
  readonly perturbation?: number;
}

interface Bucket<P extends Packet> {
  readonly q: PacketFifo<P>;
  deficit: number;
  active: boolean;
  /** The next bucket in the round robin (an intrusive list: no allocation per turn). */
  next: Bucket<P> | undefined;
}

export class SfqScheduler<P extends Packet> implements Scheduler<P> {
  drops = 0;
  bytes = 0;
  packets = 0;
  readonly #limit: number;
  readonly #quantum: number;
  readonly #perturbation: number;
  readonly #buckets: Bucket<P>[];
  /** Round-robin order of buckets with packets: head is served next. */
  #head: Bucket<P> | undefined;
  #tail: Bucket<P> | undefined;

  constructor(opts: SfqOptions) {
    const n = opts.buckets ?? 1024;
    if (!(opts.limitBytes > 0)) throw new InvalidArgumentError(`limitBytes must be positive, got ${opts.limitBytes}`);
    if (!(Number.isInteger(n) && n >= 1)) throw new InvalidArgumentError(`buckets must be a positive integer, got ${n}`);
    this.#limit = opts.limitBytes;
    this.#quantum = opts.quantumBytes ?? 1514;
    if (!(this.#quantum > 0)) throw new InvalidArgumentError(`quantumBytes must be positive, got ${this.#quantum}`);
    this.#perturbation = opts.perturbation ?? 0;
    this.#buckets = Array.from({ length: n }, () => ({ q: new PacketFifo<P>(), deficit: 0, active: false, next: undefined }));
  }

  /** The bucket flow `flow` hashes to. */
  bucketOf(flow: number): number {
    let h = Math.imul((flow ^ this.#perturbation) >>> 0, 0x9e3779b1);
    h ^= h >>> 15;
    return (h >>> 0) % this.#buckets.length;
  }

  enqueue(p: P, flow: number): boolean {
    const b = this.#buckets[this.bucketOf(flow)]!;
    b.q.push(p);
    this.bytes += p.bytes;
    this.packets++;
    if (!b.active) {
      b.active = true;
      b.deficit = this.#quantum;
      this.#append(b);
    }
    let dropped = false;
    while (this.bytes > this.#limit) {
      const victim = this.#longest();
      const d = victim.q.pop()!;
      this.bytes -= d.bytes;
      this.packets--;
      this.drops++;
      if (d === p) dropped = true;
      // An emptied bucket stays in the round robin; dequeue skips and retires it.
    }
    return !dropped;
  }

  dequeue(): P | undefined {
    for (;;) {
      const b = this.#head;
      if (b === undefined) return undefined;
      if (b.q.length === 0) {
        b.active = false;
        this.#removeHead();
        continue;
      }
      if (b.deficit <= 0) {
        b.deficit += this.#quantum;
        this.#removeHead();
        this.#append(b);
        continue;
      }
      const p = b.q.shift()!;
      b.deficit -= p.bytes;
      this.bytes -= p.bytes;
      this.packets--;
      if (b.q.length === 0) {
        b.active = false;
        this.#removeHead();
      }
      return p;
    }
  }

  #append(b: Bucket<P>): void {
    b.next = undefined;
    if (this.#tail === undefined) this.#head = b;
    else this.#tail.next = b;
    this.#tail = b;
  }

  #removeHead(): void {
    const h = this.#head!;
    this.#head = h.next;
    h.next = undefined;
    if (this.#head === undefined) this.#tail = undefined;
  }

  #longest(): Bucket<P> {
    let best = this.#buckets[0]!;
    for (const b of this.#buckets) if (b.q.bytes > best.q.bytes) best = b;
    return best;
  }
}
