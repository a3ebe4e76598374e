/**
 * @bertha/negotiate — point-to-point (1-RTT, 0-RTT) and rendezvous
 * negotiation of Bertha stacks. The Redis rendezvous store is
 * @bertha/negotiate/redis (ioredis is an optional peer dependency); the store
 * compliance suite is @bertha/negotiate/testing.
 */
export { connect, type ConnectOptions } from './connect.js';
export { listen, type ListenOptions, type ListenerStats, type NegotiatedListener } from './listen.js';
export { preRegister, type PreRegistration } from './pre-register.js';
export { negotiated, confirmed, type Negotiation } from './negotiation.js';
export { NegotiationError, type NegotiationErrorCode } from './errors.js';
export { memoryPickCache, type MemoryPickCacheOptions, type PickCache } from './pick-cache.js';
export type { AgreedPick } from './pick.js';
export type { BottomMismatch, FitsBase, NegotiateOptions } from './options.js';
export type { RetransmitOptions } from './request.js';
export { fingerprint } from './stack-info.js';
export {
  defaultRendezvousStore,
  IncompatiblePickError,
  join,
  memoryStore,
  NotAMemberError,
  numPeersAtMost,
  RoundError,
  StoreClosedError,
  StoreUnavailableError,
  TransitionInProgressError,
  TransitionRefusedError,
  type AckResult,
  type Branch,
  type CommitResult,
  type InitResult,
  type JoinOptions,
  type Joined,
  type MemoryStoreOptions,
  type NumPeersAtMostOptions,
  type PendingTransition,
  type Policy,
  type Preferences,
  type RendezvousEvent,
  type RendezvousEvents,
  type RendezvousHandle,
  type RendezvousListener,
  type RendezvousState,
  type RendezvousStore,
  type Subscription,
  type TransitionOutcome,
  type TransitionStart,
} from './rendezvous/index.js';
