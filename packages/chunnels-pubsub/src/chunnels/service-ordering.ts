/**
 * serviceOrdering(base): the queue service orders messages per group (SQS
 * FIFO message groups, GCP ordering keys, Kafka keys). Nothing to do on the
 * endpoints but to agree on it and to tell the service each message's group:
 * the group travels to the base connection in the group trailer (the base is
 * opened with `groups: 'trailer'`) and is stripped on receipt. Building it
 * over a service that cannot order fails with `QueueCapabilityError`, so a
 * rendezvous member refuses a transition to it.
 */
import { DecodeError, MappedConn, twoSided, type Capability, type Chunnel } from '@bertha/core';
import { QueueCapabilityError } from '../errors.js';
import { appendGroup, splitGroup } from '../group-trailer.js';
import type { QueueSemantics } from '../semantics.js';

/** What the queue Chunnels need to know about the base connection they will run over. */
export interface QueueService {
  readonly service: string;
  readonly semantics: QueueSemantics;
}

export interface ServiceOrderingOptions {
  /** The ordering group of an outgoing message (its bytes as they reach this Chunnel); `undefined`: not ordered. */
  readonly group?: (msg: Uint8Array) => string | undefined;
}

const capabilities: readonly Capability[] = [twoSided('ordering', 'service')];

/** Strips the group trailer on receipt; frames without one are dropped and counted. */
export function stripTrailer(frame: Uint8Array): Uint8Array {
  const split = splitGroup(frame);
  if (split === undefined) throw new DecodeError('queue frame has no group trailer');
  return split.payload;
}

export function serviceOrdering(base: QueueService, opts: ServiceOrderingOptions = {}): Chunnel<Uint8Array, Uint8Array, 'service-ordering'> {
  const group = opts.group ?? (() => undefined);
  return {
    name: 'service-ordering',
    capabilities: () => capabilities,
    connectWrap: async (inner) => {
      if (base.semantics.ordering !== 'group') {
        throw new QueueCapabilityError(base.service, 'does not order messages: use receiverOrdering() with a single receiver, or a service that orders (SQS FIFO, GCP ordering keys, Kafka)');
      }
      return new MappedConn(inner, { encode: (m) => appendGroup(m, group(m)), decode: stripTrailer });
    },
  };
}
