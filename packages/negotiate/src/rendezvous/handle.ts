/**
 * The handle `join` returns: one endpoint in a rendezvous. It ties its
 * membership (lease, view of the store) to the transitions it runs, applies
 * the policy whenever the number of participants changes, and reports what
 * happens as events.
 */
import { InvalidArgumentError, type CallOptions, type Conn, type Pass, type VariantOffer } from '@bertha/core';
import type { StackInfo } from '../stack-info.js';
import { IncompatiblePickError, TransitionInProgressError, TransitionRefusedError } from './join-errors.js';
import { Membership } from './membership.js';
import { chooseVariant, type Policy, type Preferences } from './policy.js';
import { NotAMemberError, type RendezvousState, type RendezvousStore } from './store.js';
import { SwitchConn } from './switch-conn.js';
import { Transitions } from './transition.js';

/** What a handle reports, by event name. */
export interface RendezvousEvents {
  /** The number of live participants changed (a member joined, left, or its lease expired). */
  readonly participants: number;
  /** The stack this endpoint sends with changed: its Chunnel names, application side first. */
  readonly pick: readonly string[];
  /**
   * The store is unreachable (data keeps flowing), this endpoint failed to
   * build a stack, or a layer below failed. Not raised for another member's
   * refusal of a change the policy proposed (the old stack simply stays).
   */
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
   * with `TransitionRefusedError` (a member cannot run it, or the store lost
   * it) or `TransitionInProgressError` (another change is under way).
   */
  prefer(preferences: Preferences, options?: CallOptions): Promise<void>;
  /** Like `prefer`, naming the whole stack: its Chunnel names as `pick` shows them (before passes). */
  trigger(pick: readonly string[], options?: CallOptions): Promise<void>;
  /** Leaves the rendezvous and closes the connection (and its base). */
  leave(): Promise<void>;
}

/** What a handle runs with: `join`'s options, with the defaults filled in. */
export interface HandleOptions {
  readonly name: string;
  readonly member: string;
  readonly base: Conn<Uint8Array>;
  readonly store: RendezvousStore;
  readonly policy: Policy | undefined;
  readonly drainMs: number;
  readonly passes: readonly Pass[] | undefined;
}

type Listeners = { [E in keyof RendezvousEvents]: Set<(value: RendezvousEvents[E]) => void> };

export class Rendezvous implements RendezvousHandle {
  readonly name: string;
  readonly member: string;
  readonly conn: SwitchConn<unknown>;
  readonly #info: StackInfo;
  readonly #policy: Policy | undefined;
  readonly #membership: Membership;
  readonly #transitions: Transitions;
  readonly #listeners: Listeners = { participants: new Set(), pick: new Set(), error: new Set() };
  #participants = 0;
  #ready = false;
  #proposal: Promise<void> | undefined;
  #reevaluate = false;

  constructor(info: StackInfo, options: HandleOptions) {
    this.name = options.name;
    this.member = options.member;
    this.#info = info;
    this.#policy = options.policy;
    this.conn = new SwitchConn(options.base, {
      drainMs: options.drainMs,
      onError: (err) => this.#emitError(err),
      onEnd: () => this.#membership.leave(),
    });
    this.#membership = new Membership({
      store: options.store,
      name: options.name,
      member: options.member,
      onState: (state) => this.#onState(state),
      onError: (err) => this.#emitError(err),
      rejoinPick: () => this.#transitions.current,
    });
    this.#transitions = new Transitions({
      info,
      membership: this.#membership,
      conn: this.conn,
      passes: options.passes,
      onPick: () => this.#emit('pick', this.pick),
      onError: (err) => this.#emitError(err),
      onUnrunnable: (err) => {
        // A member that cannot run what the others committed would only count without hearing them: it leaves.
        this.#emitError(err);
        void this.conn.fail(err);
      },
    });
  }

  get participants(): number {
    return this.#participants;
  }

  get pick(): readonly string[] {
    return this.#transitions.pick;
  }

  on<E extends keyof RendezvousEvents>(event: E, listener: (value: RendezvousEvents[E]) => void): () => void {
    const set = this.#listeners[event] as Set<(value: RendezvousEvents[E]) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  async prefer(preferences: Preferences, options?: CallOptions): Promise<void> {
    await this.#transitions.propose(chooseVariant(this.#info.offers, preferences), options?.signal);
  }

  async trigger(pick: readonly string[], options?: CallOptions): Promise<void> {
    const same = (v: VariantOffer) => v.chunnels.length === pick.length && v.chunnels.every((c, i) => c.name === pick[i]);
    const index = this.#info.offers.findIndex(same);
    if (index < 0) {
      const known = this.#info.offers.map((v) => `[${v.chunnels.map((c) => c.name).join(', ')}]`).join(', ');
      throw new InvalidArgumentError(`trigger: the stack has no variant [${pick.join(', ')}]; its variants are ${known}`);
    }
    await this.#transitions.propose(index, options?.signal);
  }

  leave(): Promise<void> {
    return this.conn.close();
  }

  /** Registers, adopts the committed pick (or proposes this stack's own), and starts running. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    const m = this.#membership;
    try {
      const first = this.#desired(1);
      await m.subscribe(signal);
      const init = await m.register(this.#transitions.initial(first), signal);
      // A transition staged before we came in: we acknowledged it, and adopt its outcome.
      const staged = init.pending === undefined ? undefined : { generation: init.generation, round: init.pending.round };
      await m.until(() => (staged === undefined || m.ended(staged)) && this.#transitions.settled(), signal);
      if (!this.#transitions.running) {
        // We cannot run the committed pick: propose ours; the others may accept it.
        const refusal = this.#transitions.unrunnable;
        try {
          await this.#transitions.propose(this.#desired(this.#participants), signal);
        } catch (cause) {
          throw refusal instanceof IncompatiblePickError ? new IncompatiblePickError(this.name, refusal.pick, refusal.incompatibilities, { cause }) : cause;
        }
      }
      this.#ready = true;
      this.#transitions.ready();
      m.startHeartbeat();
      this.conn.start();
      this.#evaluate();
      await this.#proposal;
    } catch (err) {
      await m.leave();
      await this.conn.abandon();
      throw err;
    }
  }

  /** The variant index the policy (or, without one, the stack's preferences) asks for. */
  #desired(participants: number): number {
    return chooseVariant(this.#info.offers, this.#policy?.(participants));
  }

  /** Whether the policy asks for variant `index` with `participants` live; a policy that throws asks for nothing. */
  #wants(participants: number, index: number): boolean {
    try {
      return this.#desired(participants) === index;
    } catch {
      return false;
    }
  }

  #onState(state: RendezvousState): void {
    const counted = state.participants !== this.#participants;
    this.#participants = state.participants;
    if (counted) this.#emit('participants', state.participants);
    this.#transitions.reconcile(state);
    if (counted || (this.#reevaluate && state.pending === undefined)) this.#evaluate();
  }

  /** Re-evaluates the policy after the participant count changed; proposes what it asks for if that is not what runs. */
  #evaluate(): void {
    const state = this.#membership.state;
    if (this.#policy === undefined || !this.#ready || this.#membership.left) return;
    if (this.#proposal !== undefined || state?.pending !== undefined) {
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
    if (state === undefined || this.#transitions.runs(state.pick, desired)) return;
    // After a change the store lost, re-evaluate on the next state read (once registered again), not at once.
    let later = false;
    this.#proposal = this.#transitions
      .propose(desired, undefined, (n) => this.#wants(n, desired))
      .catch((err: unknown) => {
        if (err instanceof TransitionInProgressError) {
          this.#reevaluate = true;
        } else if (err instanceof NotAMemberError || (err instanceof TransitionRefusedError && err.reason === 'lost')) {
          this.#reevaluate = later = true;
          this.#membership.fail(err);
        } else if (!(err instanceof TransitionRefusedError) && !this.#membership.left) {
          // A refusal is another member's (or a withdrawal of a change the count no longer asks for): the old stack stays, quietly.
          this.#emitError(err);
        }
      })
      .finally(() => {
        this.#proposal = undefined;
        if (this.#reevaluate && !later && this.#membership.state?.pending === undefined) this.#evaluate();
      });
  }

  #emit<E extends keyof RendezvousEvents>(event: E, value: RendezvousEvents[E]): void {
    for (const listener of [...(this.#listeners[event] as Set<(v: RendezvousEvents[E]) => void>)]) listener(value);
  }

  #emitError(err: unknown): void {
    this.#emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
