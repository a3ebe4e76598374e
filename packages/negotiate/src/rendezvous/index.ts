export * from './store.js';
export { memoryStore, type MemoryStoreOptions } from './memory-store.js';
export { redisStore, StoreReplyError, type RedisStoreOptions } from './redis-store.js';
export { join, defaultRendezvousStore, type JoinOptions, type Joined } from './join.js';
export type { RendezvousEvents, RendezvousHandle } from './handle.js';
export { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './join-errors.js';
export { numPeersAtMost, type Branch, type NumPeersAtMostOptions, type Policy, type Preferences } from './policy.js';
