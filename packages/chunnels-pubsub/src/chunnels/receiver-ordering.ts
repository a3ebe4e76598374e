/**
 * receiverOrdering(): the receiver orders messages itself (core's `ordered()`:
 * per-sender, per-group sequence numbers, a reorder buffer with a gap
 * threshold), over any queue service; valid with a single receiver, which
 * is why it is paired with runtime reconfiguration. Its frames carry an
 * empty group trailer, so the service does not order them (and it may run
 * on a connection opened with `groups: 'trailer'`, next to serviceOrdering()).
 */
import { MappedConn, ordered, twoSided, type Capability, type Chunnel, type GapThreshold, type OrderedOptions } from '@bertha/core';
import { appendGroup } from '../group-trailer.js';
import { stripTrailer } from './service-ordering.js';

export interface ReceiverOrderingOptions extends OrderedOptions {
  /** Default `{ maxBuffered: 1024, maxWaitMs: 10_000 }`: over a queue a message may be set aside and never come. */
  readonly gapThreshold?: GapThreshold;
}

const capabilities: readonly Capability[] = [twoSided('ordering', 'receiver')];

export function receiverOrdering(opts: ReceiverOrderingOptions = {}): Chunnel<Uint8Array, Uint8Array, 'receiver-ordering'> {
  const order = ordered({ ...opts, gapThreshold: opts.gapThreshold ?? { maxBuffered: 1024, maxWaitMs: 10_000 } });
  return {
    name: 'receiver-ordering',
    capabilities: () => capabilities,
    connectWrap: async (inner, ctx) => order.connectWrap(new MappedConn(inner, { encode: (m) => appendGroup(m, undefined), decode: stripTrailer }), ctx),
  };
}
