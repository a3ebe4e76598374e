import { randomUUID } from 'node:crypto';
import { memoryBroker, memoryQueue } from '../src/index.js';
import { describeQueueCompliance } from './compliance.js';

const broker = memoryBroker();
const leaseMs = 300;

describeQueueCompliance(
  'memory',
  {
    leaseMs,
    semantics: { ordering: 'group', fanOut: true },
    foreignBodies: false,
    fresh: async () => {
      const topic = randomUUID();
      return { open: async (o = {}) => memoryQueue({ broker, topic, subscription: o.receiver, leaseMs, ...o }) };
    },
  },
  10_000,
);
