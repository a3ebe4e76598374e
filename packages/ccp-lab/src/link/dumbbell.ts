import { InvalidArgumentError } from '@bertha/core';
import type { Clock } from '@bertha/ccp';
import { Link, type LinkOptions, type Packet } from './link.js';

/** A packet of one flow of a dumbbell; `flow` picks its access link, receiver and reverse path. */
export interface FlowPacket extends Packet {
  readonly flow: number;
}

export interface DumbbellOptions {
  /** Number of sender/receiver pairs. */
  flows: number;
  /** The shared link every data packet crosses. */
  bottleneck: LinkOptions;
  /** One-way delay from each sender to the bottleneck, µs: one for all flows or one per flow. Default 0. */
  accessDelayUs?: number | readonly number[];
  /**
   * Each flow's reverse path, receiver to sender, for ACKs. Default: no
   * queue, no loss, and a delay of the bottleneck's plus the flow's access
   * delay, so the base RTT is twice the one-way delay.
   */
  reverse?: LinkOptions;
  /** Seeds the links' loss generators (the bottleneck gets `seed`, reverse path i `seed + 1 + i`). Default 1. */
  seed?: number;
}

type Handler<P> = (p: P) => void;

/**
 * N senders → one bottleneck → N receivers, and a reverse path per flow, on
 * one clock: the topology of incast and competing-flow experiments. Packets
 * are routed by their `flow`; register each flow's receiver and sender with
 * `onData` and `onAck`.
 */
export class Dumbbell<P extends FlowPacket> {
  readonly bottleneck: Link<P>;
  /** Per flow: the access link into the bottleneck, undefined when its delay is 0. */
  readonly access: readonly (Link<P> | undefined)[];
  readonly reverse: readonly Link<P>[];
  readonly flows: number;
  readonly #data: (Handler<P> | undefined)[];
  readonly #acks: (Handler<P> | undefined)[];

  constructor(clock: Clock, opts: DumbbellOptions) {
    const n = opts.flows;
    if (!(Number.isInteger(n) && n >= 1)) throw new InvalidArgumentError(`flows must be a positive integer, got ${n}`);
    const access = opts.accessDelayUs ?? 0;
    if (typeof access !== 'number' && access.length !== n) {
      throw new InvalidArgumentError(`accessDelayUs has ${access.length} entries for ${n} flows: give one per flow, or one number for all`);
    }
    const seed = opts.seed ?? 1;
    this.flows = n;
    this.#data = new Array<Handler<P> | undefined>(n).fill(undefined);
    this.#acks = new Array<Handler<P> | undefined>(n).fill(undefined);
    this.bottleneck = new Link<P>(clock, { seed, ...opts.bottleneck }, (p) => this.#data[p.flow]?.(p));
    const accessLinks: (Link<P> | undefined)[] = [];
    const reverse: Link<P>[] = [];
    for (let i = 0; i < n; i++) {
      const d = typeof access === 'number' ? access : access[i]!;
      accessLinks.push(d > 0 ? new Link<P>(clock, { delayUs: d }, (p) => this.bottleneck.enqueue(p)) : undefined);
      const rev = opts.reverse ?? { delayUs: (opts.bottleneck.delayUs ?? 0) + d };
      reverse.push(new Link<P>(clock, { seed: seed + 1 + i, ...rev }, (p) => this.#acks[p.flow]?.(p)));
    }
    this.access = accessLinks;
    this.reverse = reverse;
  }

  /** Sets the receiver of flow `flow`: it gets the flow's packets that crossed the bottleneck. */
  onData(flow: number, fn: Handler<P>): void {
    this.#data[this.#check(flow)] = fn;
  }

  /** Sets the sender of flow `flow`: it gets what the receiver sent back with `sendAck`. */
  onAck(flow: number, fn: Handler<P>): void {
    this.#acks[this.#check(flow)] = fn;
  }

  /** A sender sends a packet towards its receiver; false if a link dropped or lost it at once. */
  sendData(p: P): boolean {
    const link = this.access[this.#check(p.flow)];
    return (link ?? this.bottleneck).enqueue(p);
  }

  /** A receiver sends a packet back to its sender over the flow's reverse path. */
  sendAck(p: P): boolean {
    return this.reverse[this.#check(p.flow)]!.enqueue(p);
  }

  #check(flow: number): number {
    if (!(Number.isInteger(flow) && flow >= 0 && flow < this.flows)) {
      throw new InvalidArgumentError(`flow ${flow} is not in this dumbbell: flows are 0 to ${this.flows - 1}`);
    }
    return flow;
  }
}
