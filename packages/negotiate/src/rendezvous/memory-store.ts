/**
 * The embedded rendezvous store: every endpoint in this process that uses the
 * same store instance meets in it. The zero-configuration default; same
 * semantics as the Redis store, without a server. It never loses its state
 * while the process lives, so each instance has one generation.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { throwIfAborted, type CallOptions } from '@bertha/core';
import {
  DEFAULT_LEASE_MS,
  NotAMemberError,
  OUTCOME_TTL_MS,
  RoundError,
  StoreClosedError,
  validateLease,
  validateName,
  validatePick,
  validateRound,
  validateParticipants,
  type AckResult,
  type CommitOptions,
  type CommitResult,
  type InitResult,
  type RendezvousEvent,
  type RendezvousListener,
  type RendezvousState,
  type RendezvousStore,
  type RoundRef,
  type Subscription,
  type TransitionOutcome,
  type TransitionStart,
} from './store.js';

export interface MemoryStoreOptions {
  /** Member lease (default 10 s). */
  readonly leaseMs?: number;
  /** Milliseconds clock used for leases; inject one to control time in tests. Default `Date.now`. */
  readonly clock?: () => number;
}

interface Pending {
  readonly round: number;
  readonly pick: Uint8Array;
  readonly committer: string;
  /** Members that accepted; those of them that are live are counted in `live`. */
  readonly acked: Set<string>;
  live: number;
  /** Whether every live member accepted, as last told with a `ready` event. */
  ready: boolean;
}

interface Rendezvous {
  readonly generation: string;
  pick: Uint8Array;
  round: number;
  /** member -> lease deadline */
  readonly members: Map<string, number>;
  /** `members`' keys, kept until they change: states share it, so that readers can cache what they derive from it. */
  list?: readonly string[];
  pending?: Pending;
}

export function memoryStore(options: MemoryStoreOptions = {}): RendezvousStore {
  return new MemoryStore(options);
}

class MemoryStore implements RendezvousStore {
  readonly leaseMs: number;
  readonly #clock: () => number;
  readonly #generation = randomUUID();
  readonly #rendezvous = new Map<string, Rendezvous>();
  /** Round counters outlive their rendezvous so that answers to old rounds stay recognisably stale. */
  readonly #rounds = new Map<string, number>();
  readonly #outcomes = new Map<string, Map<number, { outcome: TransitionOutcome; expiresAt: number }>>();
  readonly #events = new EventEmitter().setMaxListeners(0);
  #closed = false;

  constructor(options: MemoryStoreOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    validateLease(this.leaseMs);
    this.#clock = options.clock ?? Date.now;
  }

  async tryInit(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<InitResult> {
    validatePick(pick);
    return this.#op(name, member, options, (now, events) => {
      let r = this.#live(name, now, events);
      const kind = r === undefined ? 'created' : 'existing';
      if (r === undefined) {
        r = { generation: this.#generation, pick: new Uint8Array(pick), round: this.#rounds.get(name) ?? 0, members: new Map() };
        this.#rendezvous.set(name, r);
      }
      if (!r.members.has(member)) {
        r.list = undefined;
        events.push({ type: 'joined', member });
        // A member that accepted, lapsed and came back counts again.
        if (r.pending?.acked.has(member) === true) r.pending.live++;
      }
      r.members.set(member, now + this.leaseMs);
      return { kind, ...snapshot(r) };
    });
  }

  async heartbeat(name: string, member: string, options?: CallOptions): Promise<RendezvousState> {
    return this.#op(name, member, options, (now, events) => snapshot(this.#member(name, member, now, events)));
  }

  async state(name: string, options?: CallOptions): Promise<RendezvousState | undefined> {
    return this.#op(name, undefined, options, (now, events) => {
      const r = this.#live(name, now, events);
      return r === undefined ? undefined : snapshot(r);
    });
  }

  async leave(name: string, member: string, options?: CallOptions): Promise<void> {
    this.#op(name, member, options, (now, events) => {
      const r = this.#live(name, now, events);
      if (r !== undefined && removeMember(r, member)) {
        events.push({ type: 'left', member });
        this.#prune(name, r, now, events);
      }
    });
  }

  async startTransition(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<TransitionStart> {
    validatePick(pick);
    return this.#op(name, member, options, (now, events): TransitionStart => {
      const r = this.#member(name, member, now, events);
      if (r.pending !== undefined) return { kind: 'in-progress', pending: pendingOf(r, r.pending), state: snapshot(r) };
      r.round += 1;
      r.pending = { round: r.round, pick: new Uint8Array(pick), committer: member, acked: new Set([member]), live: 1, ready: false };
      events.push({ type: 'staged', round: r.round, pick: new Uint8Array(pick), committer: member });
      return { kind: 'committer', round: r.round, state: snapshot(r) };
    });
  }

  async stageAck(name: string, member: string, ref: RoundRef, accept: boolean, options?: CallOptions): Promise<AckResult> {
    validateRound(ref);
    const { round } = ref;
    return this.#op(name, member, options, (now, events): AckResult => {
      const r = this.#member(name, member, now, events);
      if (ref.generation !== this.#generation || r.pending?.round !== round) return { kind: 'stale', state: snapshot(r) };
      if (!accept) {
        this.#endRound(name, r, { kind: 'rolled-back', round: round + 1, reason: 'refused', by: member }, now, events);
        return { kind: 'refused', state: snapshot(r) };
      }
      if (!r.pending.acked.has(member)) {
        r.pending.acked.add(member);
        r.pending.live++;
      }
      return { kind: 'accepted', state: snapshot(r) };
    });
  }

  async commitIfReady(name: string, member: string, ref: RoundRef, options?: CommitOptions): Promise<CommitResult> {
    validateRound(ref);
    validateParticipants(options?.participants);
    const { round } = ref;
    return this.#op(name, member, options, (now, events): CommitResult => {
      const r = this.#member(name, member, now, events);
      if (ref.generation !== this.#generation) {
        throw new RoundError(`round ${round} of "${name}" belongs to generation ${ref.generation}, which this store never had`);
      }
      const pending = r.pending;
      if (pending?.round === round) {
        if (pending.committer !== member) {
          throw new RoundError(`only the committer "${pending.committer}" may commit round ${round} of "${name}"`);
        }
        const acked = pending.live;
        const expected = options?.participants ?? r.members.size;
        if (acked < r.members.size || expected !== r.members.size) return { kind: 'waiting', acked, participants: r.members.size };
        r.pick = pending.pick;
        const outcome: TransitionOutcome = { kind: 'committed', round: round + 1, pick: new Uint8Array(pending.pick) };
        this.#endRound(name, r, outcome, now, events);
        return outcome;
      }
      const past = this.#outcomes.get(name)?.get(round);
      if (past !== undefined && past.expiresAt > now) return past.outcome;
      throw new RoundError(
        `round ${round} of "${name}" is not staged and its outcome is unknown (it never existed, or ended over ${OUTCOME_TTL_MS} ms ago)`,
      );
    });
  }

  async subscribe(name: string, listener: RendezvousListener, options?: CallOptions): Promise<Subscription> {
    this.#op(name, undefined, options, () => undefined);
    const deliver = (events: readonly RendezvousEvent[], state: RendezvousState | undefined) => {
      for (const e of events) listener(e, state);
    };
    this.#events.on(name, deliver);
    const unsubscribe = async () => {
      this.#events.off(name, deliver);
      options?.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => void unsubscribe();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    return { mode: 'push', unsubscribe };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#events.removeAllListeners();
  }

  /** Runs one operation atomically and then notifies subscribers of what it changed, even if it threw. */
  #op<T>(name: string, member: string | undefined, options: CallOptions | undefined, fn: (now: number, events: RendezvousEvent[]) => T): T {
    if (this.#closed) throw new StoreClosedError();
    throwIfAborted(options?.signal);
    validateName(name, member);
    const events: RendezvousEvent[] = [];
    try {
      return fn(this.#clock(), events);
    } finally {
      const r = this.#rendezvous.get(name);
      const p = r?.pending;
      if (r !== undefined && p !== undefined && p.ready !== (p.live >= r.members.size)) {
        p.ready = !p.ready;
        if (p.ready) events.push({ type: 'ready', round: p.round });
      }
      if (events.length > 0) {
        const state = r === undefined ? undefined : snapshot(r);
        // Listeners run after the operation returns, so they may call the store themselves.
        queueMicrotask(() => this.#events.emit(name, events, state));
      }
    }
  }

  /** The rendezvous with expired members pruned; `undefined` if it has no live member. */
  #live(name: string, now: number, events: RendezvousEvent[]): Rendezvous | undefined {
    const r = this.#rendezvous.get(name);
    return r === undefined ? undefined : this.#prune(name, r, now, events);
  }

  /** The rendezvous of a live member, whose lease is renewed. */
  #member(name: string, member: string, now: number, events: RendezvousEvent[]): Rendezvous {
    const r = this.#live(name, now, events);
    if (r?.members.has(member) !== true) throw new NotAMemberError(name, member);
    r.members.set(member, now + this.leaseMs);
    return r;
  }

  #prune(name: string, r: Rendezvous, now: number, events: RendezvousEvent[]): Rendezvous | undefined {
    for (const [member, deadline] of r.members) {
      if (deadline <= now) {
        removeMember(r, member);
        events.push({ type: 'left', member });
      }
    }
    const pending = r.pending;
    if (pending !== undefined && !r.members.has(pending.committer)) {
      const outcome: TransitionOutcome = { kind: 'rolled-back', round: pending.round + 1, reason: 'abandoned', by: pending.committer };
      this.#endRound(name, r, outcome, now, events);
    }
    if (r.members.size > 0) return r;
    this.#rendezvous.delete(name);
    this.#rounds.set(name, r.round);
    return undefined;
  }

  #endRound(name: string, r: Rendezvous, outcome: TransitionOutcome, now: number, events: RendezvousEvent[]): void {
    const staged = r.round;
    r.round = outcome.round;
    r.pending = undefined;
    let outcomes = this.#outcomes.get(name);
    if (outcomes === undefined) this.#outcomes.set(name, (outcomes = new Map<number, { outcome: TransitionOutcome; expiresAt: number }>()));
    for (const [round, o] of outcomes) if (o.expiresAt <= now) outcomes.delete(round);
    outcomes.set(staged, { outcome, expiresAt: now + OUTCOME_TTL_MS });
    events.push(outcome.kind === 'committed' ? { type: 'committed', round: outcome.round, pick: outcome.pick } : { type: 'rolled-back', round: outcome.round, reason: outcome.reason, by: outcome.by });
  }
}

function snapshot(r: Rendezvous): RendezvousState {
  const base = { generation: r.generation, pick: new Uint8Array(r.pick), round: r.round, participants: r.members.size, members: (r.list ??= [...r.members.keys()]) };
  return r.pending === undefined ? base : { ...base, pending: pendingOf(r, r.pending) };
}

function pendingOf(r: Rendezvous, p: Pending) {
  return { round: p.round, pick: new Uint8Array(p.pick), committer: p.committer, acked: p.live };
}

/** Removes `member`; its answer to the staged change stops counting. */
function removeMember(r: Rendezvous, member: string): boolean {
  if (!r.members.delete(member)) return false;
  r.list = undefined;
  if (r.pending?.acked.has(member) === true) r.pending.live--;
  return true;
}
