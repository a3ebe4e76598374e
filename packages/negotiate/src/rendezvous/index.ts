export {
  NotAMemberError,
  RoundError,
  StoreClosedError,
  StoreUnavailableError,
  type AckResult,
  type CommitResult,
  type InitResult,
  type PendingTransition,
  type RendezvousEvent,
  type RendezvousListener,
  type RendezvousState,
  type RendezvousStore,
  type Subscription,
  type TransitionOutcome,
  type TransitionStart,
} from './store.js';
export { memoryStore, type MemoryStoreOptions } from './memory-store.js';
export { join, defaultRendezvousStore, type JoinOptions, type Joined, type RendezvousEvents, type RendezvousHandle } from './join.js';
export { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './join-errors.js';
export { numPeersAtMost, type Branch, type NumPeersAtMostOptions, type Policy, type Preferences } from './policy.js';
