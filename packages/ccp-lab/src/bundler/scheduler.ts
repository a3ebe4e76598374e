/**
 * What a queue discipline offers the sendbox (or an in-network fair-queueing
 * bottleneck): packets in, with the flow they belong to; packets out, in the
 * order the discipline picks.
 */
import type { Packet } from '../link/link.js';

export interface Scheduler<P extends Packet> {
  /** Bytes and packets held. */
  readonly bytes: number;
  readonly packets: number;
  /** Packets dropped because the buffer was full. */
  readonly drops: number;
  /** Queues `p` of flow `flow` (any integer naming the flow); false if `p` itself was dropped. */
  enqueue(p: P, flow: number): boolean;
  /** The next packet to send, or undefined when empty. */
  dequeue(): P | undefined;
}
