/**
 * The transition protocol as one member runs it: switching to the committed
 * pick (building its stack, and building it again if that fails), answering
 * another member's staged change, and proposing one as its committer
 * (two-phase commit, store.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, ConnClosedError, InvalidArgumentError, incompatibilities, type Conn, type Incompatibility, type Pass, type VariantOffer } from '@bertha/core';
import { build, datapath } from '../build.js';
import { publishTransition } from '../diagnostics/rendezvous-channels.js';
import type { StackInfo } from '../stack-info.js';
import { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './join-errors.js';
import { decodePick, encodePick, encodeStack, newEpoch, type DecodedPick } from './join-pick.js';
import type { Membership } from './membership.js';
import { NotAMemberError, RoundError, picksEqual, type PendingTransition, type RendezvousState, type RoundRef, type TransitionStart } from './store.js';
import type { SwitchConn } from './switch-conn.js';

/** Tries to build a committed pick's stack, the first included; they are a lease/8, /4, /2 apart. */
const BUILD_ATTEMPTS = 4;

export interface TransitionsOptions {
  readonly info: StackInfo;
  readonly membership: Membership;
  readonly conn: SwitchConn<unknown>;
  readonly passes: readonly Pass[] | undefined;
  /** The stack this endpoint sends with changed. */
  readonly onPick: () => void;
  /** A staged change could not be prepared here (it was refused). */
  readonly onError: (err: Error) => void;
  /**
   * Once running: the committed pick cannot run here (its stack cannot be
   * built after every try, or this stack has no variant for it).
   */
  readonly onUnrunnable: (err: Error) => void;
}

interface Running {
  readonly pick: Uint8Array;
  readonly epoch: number;
}

export class Transitions {
  readonly #info: StackInfo;
  /** `encodeStack` of each variant, to recognise a pick of the same stack by its bytes. */
  readonly #encoded: readonly Uint8Array[];
  readonly #m: Membership;
  readonly #conn: SwitchConn<unknown>;
  readonly #options: TransitionsOptions;
  /** Staged rounds already answered, as `generation/round`. */
  readonly #answered = new Set<string>();
  /** Rounds this endpoint stages and commits now, as `generation/round`. */
  readonly #committing = new Set<string>();
  /** `startTransition` calls under way: a round of ours staged meanwhile may be theirs. */
  #starting = 0;
  /** Epochs prepared for a transition and not yet committed. */
  readonly #prepared = new Set<number>();
  readonly #names = new Map<number, readonly string[]>();
  /** The committed pick this endpoint runs (or is switching to). */
  #target: Running | undefined;
  #running: Running | undefined;
  /** Set when this stack cannot run the committed pick. */
  #unrunnable: { epoch: number; error: Error } | undefined;
  /** Set once the endpoint runs: failures to run a committed pick are then the application's to hear. */
  #ready = false;

  constructor(options: TransitionsOptions) {
    this.#info = options.info;
    this.#encoded = options.info.offers.map(encodeStack);
    this.#m = options.membership;
    this.#conn = options.conn;
    this.#options = options;
  }

  /** Chunnel names of the stack this endpoint sends with, application side first. */
  get pick(): readonly string[] {
    return this.#running === undefined ? [] : (this.#names.get(this.#running.epoch) ?? []);
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Why this stack cannot run the committed pick, if it cannot. */
  get unrunnable(): Error | undefined {
    return this.#unrunnable?.error;
  }

  /** The pick to register again with when the store forgot this member. */
  get current(): Uint8Array | undefined {
    return this.#running?.pick ?? this.#target?.pick;
  }

  /** The pick to install for variant `index` if this member is first. */
  initial(index: number): Uint8Array {
    return encodePick(this.#encoded[index] as Uint8Array, newEpoch());
  }

  /** From now on the endpoint runs: a committed pick it cannot run makes it leave (`onUnrunnable`). */
  ready(): void {
    this.#ready = true;
  }

  /** Brings this endpoint in line with a state that is news: adopts its pick, answers its staged change. */
  reconcile(state: RendezvousState): void {
    // Failures are reported by #adopt itself.
    void this.#adopt(state.pick);
    const p = state.pending;
    if (p !== undefined) {
      const ref = { generation: state.generation, round: p.round };
      const key = `${ref.generation}/${ref.round}`;
      const ours = p.committer === this.#m.member;
      // A round of ours that no proposal commits was staged by a call whose reply was lost, or
      // its proposal gave up on a store error: nobody else may commit it, so roll it back.
      const orphan = ours && this.#starting === 0 && !this.#committing.has(key);
      if ((!ours || orphan) && !this.#answered.has(key)) {
        this.#answered.add(key);
        if (ours) void this.#withdraw(ref);
        else this.#answer(ref, p);
      }
    }
    this.#discardUnused(state);
  }

  /** True once this endpoint runs the committed pick, or knows it cannot. */
  settled(): boolean {
    const target = this.#target;
    if (target !== undefined && this.#running === target) return true;
    return this.#unrunnable !== undefined && (target === undefined || this.#unrunnable.epoch === target.epoch || this.#unrunnable.epoch === -1);
  }

  /** True when the committed `pick` is run here by variant `index`. */
  runs(pick: Uint8Array, index: number): boolean {
    try {
      return this.#variantFor(decodePick(pick), index) === index;
    } catch {
      return false;
    }
  }

  /**
   * Two-phase commit of variant `index`: stage it, build it, wait for every
   * member's answer, switch. `wanted`, for a change a policy decided, tells
   * whether the policy still asks for it with so many participants: the
   * change commits only at a count it is wanted for, and is rolled back (no
   * commit) once the count moved to one it is not.
   */
  async propose(index: number, signal: AbortSignal | undefined, wanted?: (participants: number) => boolean): Promise<void> {
    const m = this.#m;
    if (m.left) throw new ConnClosedError('left the rendezvous');
    const names = (this.#info.offers[index] as VariantOffer).chunnels.map((c) => c.name);
    const opts = signal ? { signal } : undefined;
    if (m.state?.pending !== undefined) {
      // This view is mid-transition and may lag the store (its commit not heard of yet), so the
      // committed pick is unknown here: read it, and finish switching to it, before comparing.
      m.offer(await m.store.heartbeat(m.name, m.member, opts));
      await m.until(() => this.settled(), signal);
    }
    if (this.#runsCommitted(index)) return;
    const stack = this.#encoded[index] as Uint8Array;
    const epoch = newEpoch();
    const pick = encodePick(stack, epoch);
    let start: TransitionStart;
    let key = '';
    this.#starting++;
    try {
      start = await m.store.startTransition(m.name, m.member, pick, opts);
      if (start.kind === 'in-progress' && start.pending.committer === m.member && !this.#committing.has(`${start.state.generation}/${start.pending.round}`)) {
        // Staged by a call of ours whose reply was lost (a timeout, a failover): roll it back, stage anew.
        await this.#withdraw({ generation: start.state.generation, round: start.pending.round });
        start = await m.store.startTransition(m.name, m.member, pick, opts);
      }
      if (start.kind === 'committer') this.#committing.add((key = `${start.state.generation}/${start.round}`));
    } finally {
      this.#starting--;
    }
    try {
      await this.#commit(index, epoch, names, start, signal, wanted);
    } finally {
      this.#committing.delete(key);
    }
  }

  /** The rest of `propose` once `startTransition` answered. */
  async #commit(
    index: number,
    epoch: number,
    names: readonly string[],
    start: TransitionStart,
    signal: AbortSignal | undefined,
    wanted: ((participants: number) => boolean) | undefined,
  ): Promise<void> {
    const m = this.#m;
    const opts = signal ? { signal } : undefined;
    const stack = this.#encoded[index] as Uint8Array;
    m.offer(start.state);
    if (start.kind === 'in-progress') {
      const p = start.pending;
      const ref = { generation: start.state.generation, round: p.round };
      if (!this.#sameStack(p.pick, stack)) throw new TransitionInProgressError(m.name, p.committer);
      await m.until(() => m.ended(ref) && this.settled(), signal);
      if (this.#running === undefined || !picksEqual(this.#running.pick, p.pick)) {
        const rb = m.rollback(ref);
        throw new TransitionRefusedError(m.name, names, rb?.reason ?? (m.lost(ref) ? 'lost' : 'refused'), rb?.by ?? p.committer);
      }
      return;
    }
    const ref = { generation: start.state.generation, round: start.round };
    try {
      this.#prepared.add(epoch);
      await this.#conn.prepare(epoch, (lower) => this.#build(index, epoch, lower));
    } catch (err) {
      await this.#withdraw(ref);
      throw err;
    }
    let participants = start.state.participants;
    for (;;) {
      if (wanted !== undefined && !wanted(participants)) {
        // Members came or went since the policy decided: what it asks for now is not this change.
        await this.#withdraw(ref);
        this.#drop(epoch);
        throw new TransitionRefusedError(m.name, names, 'refused', m.member);
      }
      let r;
      try {
        r = await m.store.commitIfReady(m.name, m.member, ref, { ...opts, participants: wanted === undefined ? undefined : participants });
      } catch (err) {
        if (err instanceof NotAMemberError || err instanceof RoundError) {
          // The store no longer knows this round: it lost its state, or this member's lease lapsed.
          this.#drop(epoch);
          throw new TransitionRefusedError(m.name, names, 'lost', m.member);
        }
        // Do not leave the others waiting for a committer that gave up.
        if (err instanceof AbortError || m.left) await this.#withdraw(ref);
        throw err;
      }
      if (r.kind === 'committed') {
        m.committed(r.round, r.pick);
        await this.#adopt(r.pick);
        return;
      }
      if (r.kind === 'rolled-back') {
        this.#drop(epoch);
        throw new TransitionRefusedError(m.name, names, r.reason, r.by);
      }
      if (r.participants !== participants) {
        participants = r.participants;
        continue;
      }
      try {
        await m.nextChange(m.store.leaseMs / 4, signal);
      } catch (err) {
        await this.#withdraw(ref);
        throw err;
      }
    }
  }

  /** Refuses this member's own staged round, rolling it back. */
  async #withdraw(ref: RoundRef): Promise<void> {
    const res = await this.#m.store.stageAck(this.#m.name, this.#m.member, ref, false).catch(() => undefined);
    this.#m.offer(res?.state);
  }

  /** Closes the stack prepared for a change that did not commit. */
  #drop(epoch: number): void {
    this.#prepared.delete(epoch);
    this.#conn.discard(epoch);
  }

  #sameStack(pick: Uint8Array, stack: Uint8Array): boolean {
    try {
      return picksEqual(decodePick(pick).stack, stack);
    } catch {
      return false; // Not a pick we can read: not ours.
    }
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
      this.#fail(d.epoch, new IncompatiblePickError(this.#m.name, d.offer.chunnels.map((c) => c.name), v));
      return undefined;
    }
    const target = { pick, epoch: d.epoch };
    this.#target = target;
    const switched = this.#switch(target, v);
    switched.catch((err: unknown) => this.#fail(d.epoch, err));
    return switched;
  }

  /**
   * Builds the stack of the committed `target` and sends with it. A build
   * that fails (a layer's set-up may depend on something that comes back) is
   * tried again while `target` stays committed; messages sent with it wait.
   */
  async #switch(target: Running, variant: number): Promise<void> {
    const { epoch } = target;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#conn.prepare(epoch, (lower) => this.#build(variant, epoch, lower));
        break;
      } catch (err) {
        if (this.#target !== target || this.#m.left) return;
        if (attempt === BUILD_ATTEMPTS) throw err;
      }
      await sleep((this.#m.store.leaseMs / 8) * 2 ** (attempt - 1), undefined, { ref: false });
      if (this.#target !== target || this.#m.left) return;
    }
    if (this.#target !== target) return;
    await this.#conn.activate(epoch);
    this.#prepared.delete(epoch);
    this.#running = target;
    this.#unrunnable = undefined;
    publishTransition(() => ({ name: this.#m.name, member: this.#m.member, phase: 'switched', pick: this.pick }));
    this.#options.onPick();
    this.#m.wake();
  }

  #fail(epoch: number, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.#unrunnable = { epoch, error };
    if (this.#ready && !this.#m.left) this.#options.onUnrunnable(error);
    this.#m.wake();
  }

  /** Acknowledges another member's staged pick once its stack is built here, or refuses one this stack cannot run. */
  #answer(ref: RoundRef, p: PendingTransition): void {
    void (async () => {
      let accept = false;
      try {
        const d = decodePick(p.pick);
        const v = this.#variantFor(d);
        if (typeof v === 'number') {
          this.#prepared.add(d.epoch);
          await this.#conn.prepare(d.epoch, (lower) => this.#build(v, d.epoch, lower));
          accept = true;
        }
      } catch (err) {
        this.#options.onError(err instanceof Error ? err : new Error(String(err)));
      }
      const res = await this.#m.store.stageAck(this.#m.name, this.#m.member, ref, accept);
      this.#m.offer(res.state);
    })().catch((err: unknown) => this.#m.fail(err));
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
      this.#drop(epoch);
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
    const state = this.#m.state;
    if (state === undefined || state.pending !== undefined || this.#running === undefined) return false;
    return picksEqual(this.#running.pick, state.pick) && this.runs(state.pick, index);
  }

  async #build(index: number, epoch: number, lower: Conn<Uint8Array>): Promise<Conn<unknown>> {
    const variant = this.#info.variants[index];
    if (variant === undefined) throw new InvalidArgumentError(`variant ${index} does not exist`);
    const path = datapath(variant.chunnels, this.#info.names[index]!, this.#options.passes);
    const top = await build(path, lower, { role: 'client', peer: `rendezvous:${this.#m.name}`, signal: undefined });
    this.#names.set(epoch, path.stack);
    return top;
  }
}
