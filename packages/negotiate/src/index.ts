/**
 * @bertha/negotiate — point-to-point (1-RTT, 0-RTT) and rendezvous
 * negotiation of Bertha stacks. The Redis rendezvous store is
 * @bertha/negotiate/redis (ioredis is an optional peer dependency); the store
 * compliance suite is @bertha/negotiate/testing.
 */
export { connect, type ConnectOptions } from './connect.js';
export { listen, type ListenOptions, type ListenerStats, type NegotiatedListener } from './listen.js';
export type { ReplayProtectionOptions } from './strike-register.js';
export { preRegister, type PreRegistration } from './pre-register.js';
export { negotiated, confirmed, type EarlyData, type Negotiation } from './negotiation.js';
export { NegotiationError, type NegotiationErrorCode } from './errors.js';
export { memoryPickCache, type MemoryPickCacheOptions, type PickCache } from './pick-cache.js';
export type { AgreedPick } from './pick.js';
export type { BottomMismatch, FitsBase, NegotiateOptions } from './options.js';
export type { RetransmitOptions } from './request.js';
export { fingerprint } from './stack-info.js';
export { defaultRendezvousStore, join, type JoinOptions, type Joined } from './rendezvous/join.js';
export type { RendezvousEvents, RendezvousHandle } from './rendezvous/handle.js';
export { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './rendezvous/join-errors.js';
export { memoryStore, type MemoryStoreOptions } from './rendezvous/memory-store.js';
export { NotAMemberError, RoundError, StoreClosedError, StoreUnavailableError, type AckResult, type CommitOptions, type CommitResult, type InitResult, type PendingTransition, type RendezvousEvent, type RendezvousListener, type RendezvousState, type RendezvousStore, type RoundRef, type Subscription, type TransitionOutcome, type TransitionStart } from './rendezvous/store.js';
export { numPeersAtMost, type Branch, type NumPeersAtMostOptions, type Policy, type Preferences } from './rendezvous/policy.js';

// Diagnostics: node:diagnostics_channel messages, printed by the `DEBUG=bertha:negotiate,bertha:rendezvous` logger
export {
  NEGOTIATE_FAILURE,
  NEGOTIATE_PICK,
  NEGOTIATE_START,
  type NegotiateFailureMessage,
  type NegotiatePickMessage,
  type NegotiateStartMessage,
} from './diagnostics/negotiate-channels.js';
export { RENDEZVOUS_STORE, RENDEZVOUS_TRANSITION, type RendezvousStoreMessage, type RendezvousTransitionMessage } from './diagnostics/rendezvous-channels.js';
export { UNHANDLED_NEGOTIATION_FAILURE } from './diagnostics/unhandled-failure.js';
import './diagnostics/log.js';
