import { twoSided, type Capability } from '@bertha/core';

/**
 * What a queue service guarantees, advertised by every base connection
 * (`conn.semantics`) and turned into capabilities by the queue Chunnels, so
 * that negotiation and rendezvous refuse a stack that asks a service for
 * something it cannot give.
 */
export interface QueueSemantics {
  /** `group`: messages of one ordering group are delivered in the order sent, even to competing receivers; `none`: no order. */
  readonly ordering: 'none' | 'group';
  /** True when several receivers can each get every message (a subscription / consumer group per receiver). */
  readonly fanOut: boolean;
}

/** Limits a base connection enforces before calling the service. */
export interface QueueLimits {
  /** Largest message, in bytes as the service counts them (after our encoding). */
  readonly maxMessageBytes: number;
  /** Messages per send call. */
  readonly maxBatchMessages: number;
  /** Bytes per send call, as the service counts them. */
  readonly maxBatchBytes: number;
  /** Messages per receive call. */
  readonly maxReceiveMessages: number;
  /** Messages per acknowledge (delete / ack / commit) call. */
  readonly maxAckMessages: number;
}

/** The capabilities that say what a service does, for Chunnels that depend on it. */
export function queueCapabilities(s: QueueSemantics): Capability[] {
  return [twoSided('queue-ordering', s.ordering), twoSided('queue-fan-out', s.fanOut ? 'yes' : 'no')];
}
