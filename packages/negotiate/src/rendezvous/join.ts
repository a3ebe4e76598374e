/**
 * `join`: many endpoints agree on one stack through a rendezvous store, and
 * switch it in place, all together, when a policy (or the application) asks.
 *
 * Data never goes through the store: it flows over each endpoint's own base
 * connection (a shared queue, a broker, a bus), tagged with the epoch of the
 * pick it was sent with (switch-conn.ts). The store only holds the pick, the
 * live members and the transition under way (store.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  AbortError,
  ConnClosedError,
  InvalidArgumentError,
  incompatibilities,
  throwIfAborted,
  type CallOptions,
  type Conn,
  type Incompatibility,
  type Pass,
  type Stack,
  type StackTop,
  type VariantOffer,
} from '@bertha/core';
import { build } from '../build.js';
import type { FitsBase } from '../options.js';
import { stackInfo, type StackInfo } from '../stack-info.js';
import { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './join-errors.js';
import { decodePick, encodePick, encodeStack, newEpoch, type DecodedPick } from './join-pick.js';
import { memoryStore } from './memory-store.js';
import { chooseVariant, type Policy, type Preferences } from './policy.js';
import { NotAMemberError, StoreUnavailableError, picksEqual, type PendingTransition, type RendezvousEvent, type RendezvousState, type RendezvousStore, type Subscription } from './store.js';
import { SwitchConn } from './switch-conn.js';

export interface JoinOptions {
  /** The rendezvous: every endpoint joining the same name in the same store shares one stack. */
  readonly name: string;
  /**
   * This endpoint's open connection to the shared medium (a queue, a broker,
   * a bus). The joined connection owns it: closing one closes the other. A
   * failed `join` leaves it open and unread.
   */
  readonly base: Conn<Uint8Array>;
  /** Default: one embedded store per process (`defaultRendezvousStore()`). Its `leaseMs` sets liveness. */
  readonly store?: RendezvousStore;
  /** Which branches to run for a number of live participants; re-evaluated whenever that number changes. */
  readonly policy?: Policy;
  /** This endpoint's member id in the store. Default: a random UUID. */
  readonly member?: string;
  /** Aborts the join (not the connection it returns). */
  readonly signal?: AbortSignal;
  /** How long an old stack keeps receiving after a switch, counted from its last message. Default: the store's lease. */
  readonly drainMs?: number;
  /** Optimization passes applied to every stack this endpoint instantiates. */
  readonly passes?: readonly Pass[];
}

/** What a handle reports, by event name. */
export interface RendezvousEvents {
  /** The number of live participants changed (a member joined, left, or its lease expired). */
  readonly participants: number;
  /** The stack this endpoint sends with changed: its Chunnel names, application side first. */
  readonly pick: readonly string[];
  /** The store is unreachable (data keeps flowing), a policy's transition failed, or a layer below failed. */
  readonly error: Error;
}

export interface RendezvousHandle {
  readonly name: string;
  readonly member: string;
  /** Live participants, this one included, as last read from the store. */
  readonly participants: number;
  /** Chunnel names of the stack this endpoint sends with, application side first. */
  readonly pick: readonly string[];
  /** Calls `listener` on every `event` until the returned function is called. */
  on<E extends keyof RendezvousEvents>(event: E, listener: (value: RendezvousEvents[E]) => void): () => void;
  /**
   * Proposes switching to the variant these branches select (see `Preferences`).
   * Resolves once it is committed (every live member accepted) and this
   * endpoint switched, at once if it already runs; the others switch as they
   * learn of the commit, their old stacks still receiving meanwhile. Rejects
   * with `TransitionRefusedError` (a member cannot run it) or
   * `TransitionInProgressError` (another change is under way).
   */
  prefer(preferences: Preferences, options?: CallOptions): Promise<void>;
  /** Like `prefer`, naming the whole stack: its Chunnel names as `pick` shows them (before passes). */
  trigger(pick: readonly string[], options?: CallOptions): Promise<void>;
  /** Leaves the rendezvous and closes the connection (and its base). */
  leave(): Promise<void>;
}

export interface Joined<D> {
  readonly conn: Conn<D>;
  readonly handle: RendezvousHandle;
}

let defaultStore: RendezvousStore | undefined;

/** The embedded store `join` uses when given none: one per process, so endpoints in this process meet. */
export function defaultRendezvousStore(): RendezvousStore {
  return (defaultStore ??= memoryStore());
}

/**
 * Joins rendezvous `options.name` with `stack`: adopts the committed pick
 * (building this endpoint's matching variant over `options.base`), or
 * installs its own if it is first. A peer joining while a transition is
 * staged acknowledges it and adopts the new pick. Rejects with
 * `IncompatiblePickError` when the stack cannot run the committed pick and
 * the others refuse its own, and with `StoreUnavailableError` when the store
 * cannot be reached.
 */
export async function join<S extends Stack>(stack: S & FitsBase<S>, options: JoinOptions): Promise<Joined<StackTop<S>>> {
  const rv = new Rendezvous(stackInfo(stack), options);
  await rv.start();
  return { conn: rv.conn as Conn<StackTop<S>>, handle: rv };
}

type Listeners = { [E in keyof RendezvousEvents]: Set<(value: RendezvousEvents[E]) => void> };

class Rendezvous implements RendezvousHandle {
  readonly name: string;
  readonly member: string;
  readonly conn: SwitchConn<unknown>;
  readonly #info: StackInfo;
  /** `encodeStack` of each variant, to recognise a pick of the same stack by its bytes. */
  readonly #encoded: readonly Uint8Array[];
  readonly #store: RendezvousStore;
  readonly #options: JoinOptions;
  readonly #listeners: Listeners = { participants: new Set(), pick: new Set(), error: new Set() };
  readonly #wakers = new Set<() => void>();
  /** Pending rounds already answered. */
  readonly #answered = new Set<number>();
  /** Epochs prepared for a transition and not yet committed. */
  readonly #prepared = new Set<number>();
  readonly #names = new Map<number, readonly string[]>();
  #participants = 0;
  #round = -1;
  #state: RendezvousState | undefined;
  /** The committed pick this endpoint runs (or is switching to): its bytes and epoch. */
  #target: { pick: Uint8Array; epoch: number } | undefined;
  #running: { pick: Uint8Array; epoch: number } | undefined;
  /** Set when this stack cannot run the committed pick. */
  #unrunnable: { epoch: number; error: Error } | undefined;
  #lastRollback: Extract<RendezvousEvent, { type: 'rolled-back' }> | undefined;
  #ready = false;
  #left = false;
  #proposal: Promise<void> | undefined;
  #reevaluate = false;
  #beating = false;
  #storeDown = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #sub: Subscription | undefined;

  constructor(info: StackInfo, options: JoinOptions) {
    if (typeof options.name !== 'string' || options.name.length === 0) throw new InvalidArgumentError('join: name must be a non-empty string');
    if (typeof options.base?.sendBatch !== 'function') throw new InvalidArgumentError('join: base must be an open Conn<Uint8Array>');
    this.name = options.name;
    this.member = options.member ?? randomUUID();
    this.#info = info;
    this.#encoded = info.offers.map(encodeStack);
    this.#store = options.store ?? defaultRendezvousStore();
    this.#options = options;
    const drainMs = options.drainMs ?? this.#store.leaseMs;
    if (!(drainMs > 0)) throw new InvalidArgumentError(`join: drainMs must be positive, got ${drainMs}`);
    this.conn = new SwitchConn(options.base, { drainMs, onError: (err) => this.#emitError(err), onEnd: () => this.#teardown() });
  }

  get participants(): number {
    return this.#participants;
  }

  get pick(): readonly string[] {
    return this.#running === undefined ? [] : (this.#names.get(this.#running.epoch) ?? []);
  }

  on<E extends keyof RendezvousEvents>(event: E, listener: (value: RendezvousEvents[E]) => void): () => void {
    const set = this.#listeners[event] as Set<(value: RendezvousEvents[E]) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  async prefer(preferences: Preferences, options?: CallOptions): Promise<void> {
    await this.#propose(chooseVariant(this.#info.offers, preferences), options?.signal);
  }

  async trigger(pick: readonly string[], options?: CallOptions): Promise<void> {
    const same = (v: VariantOffer) => v.chunnels.length === pick.length && v.chunnels.every((c, i) => c.name === pick[i]);
    const index = this.#info.offers.findIndex(same);
    if (index < 0) {
      const known = this.#info.offers.map((v) => `[${v.chunnels.map((c) => c.name).join(', ')}]`).join(', ');
      throw new InvalidArgumentError(`trigger: the stack has no variant [${pick.join(', ')}]; its variants are ${known}`);
    }
    await this.#propose(index, options?.signal);
  }

  leave(): Promise<void> {
    return this.conn.close();
  }

  async start(): Promise<void> {
    const signal = this.#options.signal;
    const store = this.#store;
    try {
      const first = this.#desired(1);
      this.#sub = await store.subscribe(this.name, (event, state) => {
        if (event.type === 'rolled-back') this.#lastRollback = event;
        this.#reconcile(state);
      }, signal ? { signal } : undefined);
      const init = await store.tryInit(this.name, this.member, encodePick(this.#encoded[first] as Uint8Array, newEpoch()), signal ? { signal } : undefined);
      this.#reconcile(init);
      // A transition staged before we came in: we acknowledged it, and adopt its outcome.
      const staged = init.pending?.round;
      await this.#until(() => (staged === undefined || this.#round > staged) && this.#settled(), signal);
      if (this.#running === undefined) {
        // We cannot run the committed pick: propose ours; the others may accept it.
        const refusal = this.#unrunnable?.error;
        try {
          await this.#propose(this.#desired(this.#participants), signal);
        } catch (cause) {
          throw refusal instanceof IncompatiblePickError ? new IncompatiblePickError(this.name, refusal.pick, refusal.incompatibilities, { cause }) : cause;
        }
      }
      this.#ready = true;
      this.#heartbeat = setInterval(() => void this.#beat(), store.leaseMs / 2);
      this.conn.start();
      this.#evaluate();
      await this.#proposal;
    } catch (err) {
      await this.#teardown();
      await this.conn.abandon();
      throw err;
    }
  }

  /** The variant index the policy (or, without one, the stack's preferences) asks for. */
  #desired(participants: number): number {
    return chooseVariant(this.#info.offers, this.#options.policy?.(participants));
  }

  /** Brings this endpoint in line with a state read from the store. Idempotent; stale states are ignored. */
  #reconcile(state: RendezvousState | undefined): void {
    if (this.#left || state === undefined || !state.members.includes(this.member) || state.round < this.#round) return;
    this.#round = state.round;
    this.#state = state;
    const counted = state.participants !== this.#participants;
    this.#participants = state.participants;
    if (counted) this.#emit('participants', state.participants);
    // Failures are reported by #adopt itself.
    void this.#adopt(state.pick);
    const p = state.pending;
    if (p !== undefined && p.committer !== this.member && !this.#answered.has(p.round)) this.#answer(p);
    this.#discardUnused(state);
    if (counted || (this.#reevaluate && p === undefined)) this.#evaluate();
    this.#wake();
  }

  /** Switches to the committed `pick` unless already running (or switching to) it. */
  #adopt(pick: Uint8Array): Promise<void> | undefined {
    if (this.#target !== undefined && picksEqual(this.#target.pick, pick)) return undefined;
    let d: DecodedPick;
    try {
      d = decodePick(pick);
    } catch (err) {
      this.#fail(-1, err);
      return undefined;
    }
    const v = this.#variantFor(d);
    if (typeof v !== 'number') {
      this.#fail(d.epoch, new IncompatiblePickError(this.name, d.offer.chunnels.map((c) => c.name), v));
      return undefined;
    }
    const target = { pick, epoch: d.epoch };
    this.#target = target;
    const switched = (async () => {
      await this.conn.prepare(d.epoch, (lower) => this.#build(v, d.epoch, lower));
      if (this.#target !== target) return;
      await this.conn.activate(d.epoch);
      this.#prepared.delete(d.epoch);
      this.#running = target;
      this.#unrunnable = undefined;
      this.#emit('pick', this.pick);
      this.#wake();
    })();
    switched.catch((err: unknown) => this.#fail(d.epoch, err));
    return switched;
  }

  #fail(epoch: number, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.#unrunnable = { epoch, error };
    if (this.#ready) this.#emitError(error);
    this.#wake();
  }

  /** True once this endpoint runs the committed pick, or knows it cannot. */
  #settled(): boolean {
    const target = this.#target;
    if (target !== undefined && this.#running === target) return true;
    return this.#unrunnable !== undefined && (target === undefined || this.#unrunnable.epoch === target.epoch || this.#unrunnable.epoch === -1);
  }

  /** Acknowledges another member's staged pick once its stack is built here, or refuses one this stack cannot run. */
  #answer(p: PendingTransition): void {
    this.#answered.add(p.round);
    void (async () => {
      let accept = false;
      try {
        const d = decodePick(p.pick);
        const v = this.#variantFor(d);
        if (typeof v === 'number') {
          this.#prepared.add(d.epoch);
          await this.conn.prepare(d.epoch, (lower) => this.#build(v, d.epoch, lower));
          accept = true;
        }
      } catch (err) {
        this.#emitError(err);
      }
      const res = await this.#store.stageAck(this.name, this.member, p.round, accept);
      this.#reconcile(res.state);
    })().catch((err: unknown) => this.#storeError(err));
  }

  /** Closes stacks prepared for transitions that ended without committing them. */
  #discardUnused(state: RendezvousState): void {
    if (this.#prepared.size === 0) return;
    const keep = new Set<number>();
    for (const pick of [state.pick, state.pending?.pick]) {
      try {
        if (pick !== undefined) keep.add(decodePick(pick).epoch);
      } catch {
        // An unreadable pick keeps nothing.
      }
    }
    for (const epoch of this.#prepared) {
      if (keep.has(epoch) || epoch === this.#target?.epoch) continue;
      this.#prepared.delete(epoch);
      this.conn.discard(epoch);
    }
  }

  /** This stack's variant that runs `d`: the same stack if it has it, else a compatible one; else what does not match. */
  #variantFor(d: DecodedPick, prefer?: number): number | Incompatibility[] {
    const exact = this.#encoded.findIndex((e) => picksEqual(e, d.stack));
    if (exact >= 0) return exact;
    const fits: number[] = [];
    let closest: Incompatibility[] | undefined;
    this.#info.offers.forEach((offer, i) => {
      const why = incompatibilities(offer, d.offer);
      if (why.length === 0) fits.push(i);
      else if (closest === undefined || why.length < closest.length) closest = why;
    });
    if (fits.length === 0) return closest ?? [];
    return prefer !== undefined && fits.includes(prefer) ? prefer : (fits[0] as number);
  }

  /** True when this endpoint runs the committed pick, with no change staged, by variant `index`. */
  #runsCommitted(index: number): boolean {
    const state = this.#state;
    if (state === undefined || state.pending !== undefined || this.#running === undefined) return false;
    return picksEqual(this.#running.pick, state.pick) && this.#runs(state.pick, index);
  }

  /** True when the committed `pick` is run here by variant `index`. */
  #runs(pick: Uint8Array, index: number): boolean {
    try {
      return this.#variantFor(decodePick(pick), index) === index;
    } catch {
      return false;
    }
  }

  async #build(index: number, epoch: number, lower: Conn<Uint8Array>): Promise<Conn<unknown>> {
    const variant = this.#info.variants[index];
    if (variant === undefined) throw new InvalidArgumentError(`variant ${index} does not exist`);
    const { top, stack } = await build(variant.chunnels, this.#info.names[index]!, lower, { role: 'client', peer: `rendezvous:${this.name}`, passes: this.#options.passes, signal: undefined });
    this.#names.set(epoch, stack);
    return top;
  }

  /** Re-evaluates the policy after the participant count changed; proposes what it asks for if that is not what runs. */
  #evaluate(): void {
    if (this.#options.policy === undefined || !this.#ready || this.#left) return;
    if (this.#proposal !== undefined || this.#state?.pending !== undefined) {
      this.#reevaluate = true;
      return;
    }
    this.#reevaluate = false;
    let desired: number;
    try {
      desired = this.#desired(this.#participants);
    } catch (err) {
      this.#emitError(err);
      return;
    }
    if (this.#state === undefined || this.#runs(this.#state.pick, desired)) return;
    this.#proposal = this.#propose(desired, undefined)
      .catch((err: unknown) => {
        if (err instanceof TransitionInProgressError) this.#reevaluate = true;
        else if (!this.#left) this.#emitError(err);
      })
      .finally(() => {
        this.#proposal = undefined;
        if (this.#reevaluate && this.#state?.pending === undefined) this.#evaluate();
      });
  }

  /** Two-phase commit of variant `index`: stage it, build it, wait for every member's answer, switch. */
  async #propose(index: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#left) throw new ConnClosedError('left the rendezvous');
    const names = (this.#info.offers[index] as VariantOffer).chunnels.map((c) => c.name);
    const opts = signal ? { signal } : undefined;
    if (this.#state?.pending !== undefined) {
      // This view is mid-transition and may lag the store (its commit not heard of yet), so the
      // committed pick is unknown here: read it, and finish switching to it, before comparing.
      this.#reconcile(await this.#store.heartbeat(this.name, this.member, opts));
      await this.#until(() => this.#settled(), signal);
    }
    if (this.#runsCommitted(index)) return;
    const stack = this.#encoded[index] as Uint8Array;
    const epoch = newEpoch();
    const start = await this.#store.startTransition(this.name, this.member, encodePick(stack, epoch), opts);
    if (start.kind === 'in-progress') {
      const p = start.pending;
      this.#reconcile(start.state);
      let same = false;
      try {
        same = picksEqual(decodePick(p.pick).stack, stack);
      } catch {
        // Not a pick we can read: not ours.
      }
      if (!same) throw new TransitionInProgressError(this.name, p.committer);
      await this.#until(() => this.#round > p.round && this.#settled(), signal);
      if (this.#running === undefined || !picksEqual(this.#running.pick, p.pick)) {
        const rb = this.#lastRollback?.round === p.round + 1 ? this.#lastRollback : undefined;
        throw new TransitionRefusedError(this.name, names, rb?.reason ?? 'refused', rb?.by ?? 'unknown');
      }
      return;
    }
    const round = start.round;
    this.#reconcile(start.state);
    try {
      this.#prepared.add(epoch);
      await this.conn.prepare(epoch, (lower) => this.#build(index, epoch, lower));
    } catch (err) {
      await this.#store.stageAck(this.name, this.member, round, false).catch(() => undefined);
      throw err;
    }
    for (;;) {
      let r;
      try {
        r = await this.#store.commitIfReady(this.name, this.member, round, opts);
      } catch (err) {
        // Do not leave the others waiting for a committer that gave up.
        if (err instanceof AbortError || this.#left) await this.#store.stageAck(this.name, this.member, round, false).catch(() => undefined);
        throw err;
      }
      if (r.kind === 'committed') {
        if (this.#state !== undefined && this.#round < r.round) {
          this.#round = r.round;
          this.#state = { ...this.#state, pick: r.pick, round: r.round, pending: undefined };
        }
        await this.#adopt(r.pick);
        return;
      }
      if (r.kind === 'rolled-back') {
        this.#prepared.delete(epoch);
        this.conn.discard(epoch);
        throw new TransitionRefusedError(this.name, names, r.reason, r.by);
      }
      try {
        await this.#nextChange(this.#store.leaseMs / 4, signal);
      } catch (err) {
        await this.#store.stageAck(this.name, this.member, round, false).catch(() => undefined);
        throw err;
      }
    }
  }

  /** Waits until `done()`, re-reading the state itself when no event came for a while. */
  async #until(done: () => boolean, signal: AbortSignal | undefined): Promise<void> {
    while (!done()) {
      if (this.#left) throw new ConnClosedError('left the rendezvous');
      if (!(await this.#nextChange(this.#store.leaseMs / 4, signal))) await this.#beat();
    }
  }

  /** Resolves true on the next change of state, false after `ms`; rejects on abort. */
  #nextChange(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
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

  #wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  /** Renews the lease; registers again (with the pick it runs) if the store forgot this member, e.g. after a restart. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#left) return;
    this.#beating = true;
    try {
      let state: RendezvousState;
      try {
        state = await this.#store.heartbeat(this.name, this.member);
      } catch (err) {
        if (!(err instanceof NotAMemberError)) throw err;
        const pick = this.#running?.pick ?? this.#target?.pick;
        if (pick === undefined) throw err;
        this.#round = -1;
        state = await this.#store.tryInit(this.name, this.member, pick);
      }
      this.#storeDown = false;
      this.#reconcile(state);
    } catch (err) {
      this.#storeError(err);
    } finally {
      this.#beating = false;
    }
  }

  /** Reports a store failure once per outage: data keeps flowing on the current stack meanwhile. */
  #storeError(err: unknown): void {
    if (this.#left) return;
    if (err instanceof StoreUnavailableError) {
      if (this.#storeDown) return;
      this.#storeDown = true;
    }
    this.#emitError(err);
  }

  async #teardown(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    clearInterval(this.#heartbeat);
    this.#wake();
    await this.#sub?.unsubscribe().catch(() => undefined);
    await this.#store.leave(this.name, this.member).catch(() => undefined);
  }

  #emit<E extends keyof RendezvousEvents>(event: E, value: RendezvousEvents[E]): void {
    for (const listener of [...(this.#listeners[event] as Set<(v: RendezvousEvents[E]) => void>)]) listener(value);
  }

  #emitError(err: unknown): void {
    this.#emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
