/**
 * The rendezvous store: where the endpoints of one multi-party connection
 * agree on a stack. One rendezvous per connection name holds the committed
 * pick (opaque bytes describing the chosen stack), a round counter (even when
 * stable, odd while a change is staged) and the live members, each holding a
 * lease. A change of pick is a two-phase commit: the committer stages it,
 * every live member accepts (or one refuses and it is rolled back), and the
 * committer installs it atomically once the accepts reach the member count.
 *
 * Rounds count within a **generation**: an id the store gives its state of a
 * rendezvous when it creates it from nothing. A store that loses its state
 * (Redis restarted without persistence, or flushed) starts a new generation,
 * so its members learn that the state they remember is gone, and a round is
 * named by both numbers (`RoundRef`): round 1 of one generation is never
 * mistaken for round 1 of another.
 */
import { BerthaError, InvalidArgumentError, type CallOptions } from '@bertha/core';

/** Default member lease; members renew it with `heartbeat` every half period. */
export const DEFAULT_LEASE_MS = 10_000;

/** How long the outcome of an ended round stays readable by `commitIfReady`. */
export const OUTCOME_TTL_MS = 60_000;

/**
 * A round, named unambiguously: `round` counts within `generation`, which
 * changes only when the store lost the rendezvous' state and created it anew.
 */
export interface RoundRef {
  readonly generation: string;
  readonly round: number;
}

/** A change of pick that is staged and waiting for the members' answers (in the generation of the state it comes with). */
export interface PendingTransition {
  /** The round of this change: always odd. */
  readonly round: number;
  readonly pick: Uint8Array;
  readonly committer: string;
  /**
   * How many live members accepted it (the committer accepts by staging it).
   * A count, not a list: a state read during a transition stays O(1) however
   * large the group. Every live member accepted once it equals `participants`.
   */
  readonly acked: number;
}

/** What a rendezvous holds right now. Only live members (unexpired leases) are counted. */
export interface RendezvousState {
  /**
   * The generation of this state: a new one means the store lost what it
   * held (members, rounds) and created the rendezvous again. Rounds of
   * different generations are unrelated.
   */
  readonly generation: string;
  /** The committed pick. */
  readonly pick: Uint8Array;
  /** Even when stable, odd while `pending` is staged. */
  readonly round: number;
  /** Number of live members. */
  readonly participants: number;
  readonly members: readonly string[];
  readonly pending?: PendingTransition;
}

/**
 * `created`: this call installed `pick` (there was no rendezvous, or none of
 * its members was alive). `existing`: a rendezvous is under way; its state
 * says which pick to adopt and whether a change is pending. Either way the
 * caller is now a member holding a lease.
 */
export type InitResult = RendezvousState & { readonly kind: 'created' | 'existing' };

/** `committer`: the caller staged its pick in `round`. `in-progress`: another change is already staged. */
export type TransitionStart =
  | { readonly kind: 'committer'; readonly round: number; readonly state: RendezvousState }
  | { readonly kind: 'in-progress'; readonly pending: PendingTransition; readonly state: RendezvousState };

/**
 * `accepted`: the answer is recorded. `refused`: the change is rolled back
 * and the old pick stays. `stale`: `round` is not the staged round (it ended
 * or never existed); `state` says what holds now.
 */
export interface AckResult {
  readonly kind: 'accepted' | 'refused' | 'stale';
  readonly state: RendezvousState;
}

/** How a round ended. `round` is the new, even round. */
export type TransitionOutcome =
  | { readonly kind: 'committed'; readonly round: number; readonly pick: Uint8Array }
  | {
      readonly kind: 'rolled-back';
      readonly round: number;
      /** `refused`: member `by` refused. `abandoned`: the committer (`by`) left or its lease expired. */
      readonly reason: 'refused' | 'abandoned';
      readonly by: string;
    };

/**
 * `waiting`: not every live member has accepted yet, or the live count is not
 * the one `CommitOptions.participants` asked for; ask again on the next event.
 */
export type CommitResult =
  | TransitionOutcome
  | { readonly kind: 'waiting'; readonly acked: number; readonly participants: number };

export interface CommitOptions extends CallOptions {
  /**
   * Commit only while exactly this many members are live. A committer whose
   * change was decided for a number of participants (a policy) passes it, so
   * that a member leaving or joining meanwhile cannot make it commit a change
   * that number no longer asks for: it gets `waiting` with the live count and
   * decides again (asks again with the new count, or refuses its own round).
   */
  readonly participants?: number;
}

/**
 * What changed. Redis delivers events by re-reading the state when its
 * scripts announce a change (or by polling), so close changes can coalesce: a subscriber
 * may see `committed` without the `staged` before it. The state given with an
 * event is always current, and the rounds an event names count in that
 * state's generation.
 */
export type RendezvousEvent =
  | { readonly type: 'joined'; readonly member: string }
  /** The member left or its lease expired. */
  | { readonly type: 'left'; readonly member: string }
  | { readonly type: 'staged'; readonly round: number; readonly pick: Uint8Array; readonly committer: string }
  /**
   * Every live member accepted the change staged in `round`: its committer
   * may commit. Single answers are not events (only the committer acts on
   * them, and only on the last).
   */
  | { readonly type: 'ready'; readonly round: number }
  /** A staged change ended (`round` is the new, even round); same fields as `TransitionOutcome`. */
  | { readonly type: 'committed'; readonly round: number; readonly pick: Uint8Array }
  | { readonly type: 'rolled-back'; readonly round: number; readonly reason: 'refused' | 'abandoned'; readonly by: string };

/** Called with each event and the state after it (`undefined` once no member is left). */
export type RendezvousListener = (event: RendezvousEvent, state: RendezvousState | undefined) => void;

export interface Subscription {
  /** `push`: the store notifies changes. `poll`: notifications are unavailable and the state is polled. */
  readonly mode: 'push' | 'poll';
  unsubscribe(): Promise<void>;
}

export interface RendezvousStore {
  /** Lease of the members of this store; call `heartbeat` at least every `leaseMs / 2`. */
  readonly leaseMs: number;
  /**
   * Compare-and-swap: installs `pick` if the rendezvous `name` has no live
   * member, else returns the one under way. Registers (or renews) `member`.
   */
  tryInit(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<InitResult>;
  /** Renews the member's lease and returns the state. Rejects with `NotAMemberError` once the lease expired. */
  heartbeat(name: string, member: string, options?: CallOptions): Promise<RendezvousState>;
  /** Reads the state without being a member; `undefined` if there is no rendezvous `name`. */
  state(name: string, options?: CallOptions): Promise<RendezvousState | undefined>;
  /** Ends the member's lease (abandoning its staged change, if any). Idempotent. */
  leave(name: string, member: string, options?: CallOptions): Promise<void>;
  /** Stages a change to `pick`, making `member` its committer, unless a change is already staged. */
  startTransition(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<TransitionStart>;
  /** Answers the change staged in `round`: accept it, or refuse it and so roll it back. `stale` if the round is not staged now, in its generation. */
  stageAck(name: string, member: string, round: RoundRef, accept: boolean, options?: CallOptions): Promise<AckResult>;
  /**
   * For the committer of `round`: installs the staged pick and ends the round
   * once every live member accepted; tells how the round ended if it already
   * did (within `OUTCOME_TTL_MS`). Rejects with `RoundError` for a round the
   * store does not know, e.g. one of a generation it lost.
   */
  commitIfReady(name: string, member: string, round: RoundRef, options?: CommitOptions): Promise<CommitResult>;
  /** Delivers changes of rendezvous `name` to `listener` until unsubscribed or `options.signal` aborts. */
  subscribe(name: string, listener: RendezvousListener, options?: CallOptions): Promise<Subscription>;
  /** Releases connections and subscriptions. Idempotent; later calls reject with `StoreClosedError`. */
  close(): Promise<void>;
}

/** The store cannot be reached (Redis down, wrong URL). Calls may succeed again once it returns. */
export class StoreUnavailableError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}

/** The store was closed by this process. */
export class StoreClosedError extends BerthaError {
  constructor() {
    super('ERR_STORE_CLOSED', 'rendezvous store is closed: create a new one');
  }
}

/** The member holds no live lease in the rendezvous (it left, or missed its heartbeats). */
export class NotAMemberError extends BerthaError {
  constructor(name: string, member: string) {
    super(
      'ERR_NOT_A_MEMBER',
      `member "${member}" holds no live lease in rendezvous "${name}": it left or missed its heartbeats; call tryInit to join again`,
    );
  }
}

/** `commitIfReady` was asked about a round it cannot answer for. */
export class RoundError extends BerthaError {
  constructor(message: string) {
    super('ERR_ROUND', message);
  }
}

/** Picks are compared by their bytes, never by decoded or re-encoded values. */
export function picksEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

export function validateName(name: string, member?: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('rendezvous name must be a non-empty string');
  if (member !== undefined && (typeof member !== 'string' || member.length === 0)) {
    throw new InvalidArgumentError('member id must be a non-empty string');
  }
}

export function validatePick(pick: Uint8Array): void {
  if (!(pick instanceof Uint8Array)) throw new InvalidArgumentError('pick must be a Uint8Array (encode it first, e.g. with msgpackr)');
}

export function validateRound(ref: RoundRef): void {
  if (typeof ref?.generation !== 'string' || ref.generation.length === 0) throw new InvalidArgumentError('a round names its generation: pass { generation, round } from the state');
  const { round } = ref;
  if (!Number.isSafeInteger(round) || round < 0) throw new InvalidArgumentError(`round must be a non-negative integer, got ${round}`);
}

export function validateParticipants(participants: number | undefined): void {
  if (participants !== undefined && (!Number.isSafeInteger(participants) || participants < 1)) {
    throw new InvalidArgumentError(`participants must be a positive integer, got ${participants}`);
  }
}

export function validateLease(leaseMs: number): void {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new InvalidArgumentError(`leaseMs must be a positive number, got ${leaseMs}`);
}
