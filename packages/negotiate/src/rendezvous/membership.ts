/**
 * One member's lease in a rendezvous and its view of the store: the state it
 * last read, in which generation, and the rounds it saw end. Renews the lease
 * every half lease; registers again (with the pick it runs) when the store
 * forgot it: its lease lapsed, or the store lost its state and started a new
 * generation.
 */
import { AbortError, ConnClosedError, throwIfAborted } from '@bertha/core';
import { pickNames, publishStore, publishTransition } from '../diagnostics/rendezvous-channels.js';
import {
  NotAMemberError,
  StoreUnavailableError,
  picksEqual,
  type InitResult,
  type RendezvousEvent,
  type RendezvousState,
  type RendezvousStore,
  type RoundRef,
  type Subscription,
} from './store.js';

type RolledBack = Extract<RendezvousEvent, { type: 'rolled-back' }>;

const memberSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * Whether `next` tells `member` anything `prev` did not: a transition's
 * answers matter to its committer only, and a member that waits for them
 * would otherwise hear of each one, which in a group of n is n states for
 * each of n members.
 */
function differs(prev: RendezvousState, next: RendezvousState, member: string): boolean {
  return (
    prev.generation !== next.generation ||
    prev.round !== next.round ||
    prev.participants !== next.participants ||
    prev.pending?.round !== next.pending?.round ||
    next.pending?.committer === member ||
    !picksEqual(prev.pick, next.pick)
  );
}

/**
 * The members of `state` as a set, built once per member list however many
 * members in this process ask, and however many states share the list (a
 * store reuses it while the members stay the same: during a transition, each
 * answer's reply is a new state with the same list).
 */
function memberSet(state: RendezvousState): ReadonlySet<string> {
  let set = memberSets.get(state.members);
  if (set === undefined) memberSets.set(state.members, (set = new Set(state.members)));
  return set;
}

export interface MembershipOptions {
  readonly store: RendezvousStore;
  readonly name: string;
  readonly member: string;
  /** Called with each state that is news (see `offer`). */
  readonly onState: (state: RendezvousState) => void;
  /** Store failures: once per outage for `StoreUnavailableError`, every time for others. */
  readonly onError: (err: Error) => void;
  /** The pick to register again with when the store forgot this member; `undefined` if there is none yet. */
  readonly rejoinPick: () => Uint8Array | undefined;
}

export class Membership {
  readonly store: RendezvousStore;
  readonly name: string;
  readonly member: string;
  readonly #options: MembershipOptions;
  readonly #wakers = new Set<() => void>();
  /** The generation this member registered in; states of any other are not news. */
  #generation: string | undefined;
  #round = -1;
  #state: RendezvousState | undefined;
  #lastRollback: { generation: string; event: RolledBack } | undefined;
  #sub: Subscription | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;
  #storeDown = false;
  #left = false;

  constructor(options: MembershipOptions) {
    this.store = options.store;
    this.name = options.name;
    this.member = options.member;
    this.#options = options;
  }

  /** The last state read that was news; `undefined` before registering. */
  get state(): RendezvousState | undefined {
    return this.#state;
  }

  get left(): boolean {
    return this.#left;
  }

  /** Starts hearing the store's changes. */
  async subscribe(signal: AbortSignal | undefined): Promise<void> {
    this.#sub = await this.store.subscribe(
      this.name,
      (event, state) => {
        if (event.type === 'rolled-back' && state !== undefined) this.#lastRollback = { generation: state.generation, event };
        this.#publish(event, state);
        this.offer(state);
      },
      signal ? { signal } : undefined,
    );
  }

  /** Registers with `pick` (the store installs it if the rendezvous has no live member), in whatever generation the store is in now. */
  async register(pick: Uint8Array, signal?: AbortSignal): Promise<InitResult> {
    const init = await this.store.tryInit(this.name, this.member, pick, signal ? { signal } : undefined);
    const previous = this.#generation;
    if (previous !== undefined && previous !== init.generation) {
      publishStore(() => ({ name: this.name, member: this.member, status: 'generation', generation: init.generation, previous }));
    }
    this.#generation = init.generation;
    // The store had forgotten this member: its word on the round is the news, even if lower.
    this.#round = -1;
    this.offer(init);
    return init;
  }

  /** Renews the lease every half lease from now on. */
  startHeartbeat(): void {
    this.#heartbeat = setInterval(() => void this.beat(), this.store.leaseMs / 2);
  }

  /**
   * Takes a state read from the store if it is news: of this member's
   * generation, listing this member, and no older than the last one.
   */
  offer(state: RendezvousState | undefined): void {
    // One read reaches every member in this process, often with several events: each is O(1) after the first.
    if (state === this.#state) return;
    if (this.#left || state === undefined || state.generation !== this.#generation || !memberSet(state).has(this.member)) return;
    if (state.round < this.#round) return;
    const prev = this.#state;
    this.#round = state.round;
    this.#state = state;
    if (prev !== undefined && !differs(prev, state, this.member)) return;
    this.#options.onState(state);
    this.wake();
  }

  /** Records a commit this member made itself, before any notification of it. */
  committed(round: number, pick: Uint8Array): void {
    if (this.#state === undefined || this.#round >= round) return;
    this.#round = round;
    this.#state = { ...this.#state, pick, round, pending: undefined };
  }

  /** True once the staged round `ref` ended, as far as this member knows. */
  ended(ref: RoundRef): boolean {
    return this.lost(ref) || this.#round > ref.round;
  }

  /** True when `ref` is of a generation this member left: the store lost that state. */
  lost(ref: RoundRef): boolean {
    return ref.generation !== this.#generation;
  }

  /** How the staged round `ref` was rolled back, if this member heard. */
  rollback(ref: RoundRef): RolledBack | undefined {
    const r = this.#lastRollback;
    return r?.generation === ref.generation && r.event.round === ref.round + 1 ? r.event : undefined;
  }

  /** Renews the lease; registers again (with the pick it runs) if the store forgot this member, e.g. after a restart. */
  async beat(): Promise<void> {
    if (this.#beating || this.#left) return;
    this.#beating = true;
    try {
      let state: RendezvousState;
      try {
        state = await this.store.heartbeat(this.name, this.member);
      } catch (err) {
        const pick = err instanceof NotAMemberError ? this.#options.rejoinPick() : undefined;
        if (pick === undefined) throw err;
        state = await this.register(pick);
      }
      if (this.#storeDown) {
        this.#storeDown = false;
        publishStore(() => ({ name: this.name, member: this.member, status: 'up' }));
      }
      this.offer(state);
    } catch (err) {
      this.fail(err);
    } finally {
      this.#beating = false;
    }
  }

  /** A store call failed: registers again if the store forgot this member, reports anything else. */
  fail(err: unknown): void {
    if (this.#left) return;
    if (err instanceof NotAMemberError) {
      void this.beat();
      return;
    }
    if (err instanceof StoreUnavailableError) {
      // Once per outage: data keeps flowing on the current stack meanwhile.
      if (this.#storeDown) return;
      this.#storeDown = true;
      publishStore(() => ({ name: this.name, member: this.member, status: 'down', error: err }));
    }
    this.#options.onError(err instanceof Error ? err : new Error(String(err)));
  }

  /** Waits until `done()`, re-reading the state itself when no change came for a while. */
  async until(done: () => boolean, signal: AbortSignal | undefined): Promise<void> {
    while (!done()) {
      if (this.#left) throw new ConnClosedError('left the rendezvous');
      if (!(await this.nextChange(this.store.leaseMs / 4, signal))) await this.beat();
    }
  }

  /** Resolves true on the next change (a state that was news, or `wake`), false after `ms`; rejects on abort. */
  nextChange(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    throwIfAborted(signal);
    return new Promise<boolean>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const wake = () => finish(() => resolve(true));
      const onAbort = () => finish(() => reject(new AbortError(signal?.reason)));
      const timer = setTimeout(() => finish(() => resolve(false)), ms);
      this.#wakers.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  /** Tells diagnostics of a transition event this member heard. */
  #publish(event: RendezvousEvent, state: RendezvousState | undefined): void {
    if (this.#left) return;
    const { name, member } = this;
    const generation = state?.generation;
    switch (event.type) {
      case 'staged':
        return publishTransition(() => ({ name, member, phase: 'proposed', generation, round: event.round, pick: pickNames(event.pick), committer: event.committer }));
      case 'committed':
        return publishTransition(() => ({ name, member, phase: 'committed', generation, round: event.round, pick: pickNames(event.pick) }));
      case 'rolled-back':
        return publishTransition(() => ({ name, member, phase: 'rolled-back', generation, round: event.round, reason: event.reason, by: event.by }));
    }
  }

  /** Stops the heartbeat and ends the lease. Idempotent. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#heartbeat);
    this.wake();
    await this.#sub?.unsubscribe().catch(() => undefined);
    await this.store.leave(this.name, this.member).catch(() => undefined);
  }
}
