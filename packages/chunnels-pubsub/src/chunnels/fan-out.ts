/**
 * fanOut(base): asks that every receiver get every message. Pass-through on
 * the data path; it declares the ask as a capability, and building it over a
 * service where receivers compete (SQS, Azure Storage Queues) fails with
 * `QueueCapabilityError`, so negotiation and rendezvous refuse it.
 */
import { twoSided, type Capability, type Chunnel } from '@bertha/core';
import { QueueCapabilityError } from '../errors.js';
import type { QueueService } from './service-ordering.js';

const capabilities: readonly Capability[] = [twoSided('delivery', 'fan-out')];

export function fanOut(base: QueueService): Chunnel<Uint8Array, Uint8Array, 'fan-out'> {
  return {
    name: 'fan-out',
    capabilities: () => capabilities,
    connectWrap: async (inner) => {
      if (!base.semantics.fanOut) {
        throw new QueueCapabilityError(base.service, 'receivers compete for messages, it cannot give every receiver every message: use GCP Pub/Sub, Kafka, Redis Streams or SNS fan-out');
      }
      return inner;
    },
  };
}
