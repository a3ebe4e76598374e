/**
 * `join`: many endpoints agree on one stack through a rendezvous store, and
 * switch it in place, all together, when a policy (or the application) asks.
 *
 * Data never goes through the store: it flows over each endpoint's own base
 * connection (a shared queue, a broker, a bus), tagged with the epoch of the
 * pick it was sent with (switch-conn.ts). The store only holds the pick, the
 * live members and the transition under way (store.ts). An endpoint is a
 * handle (handle.ts) over its membership (membership.ts) and the transitions
 * it runs (transition.ts).
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type Conn, type Pass, type Stack, type StackTop } from '@bertha/core';
import type { FitsBase } from '../options.js';
import { stackInfo } from '../stack-info.js';
import { Rendezvous, type RendezvousHandle } from './handle.js';
import { memoryStore } from './memory-store.js';
import type { Policy } from './policy.js';
import type { RendezvousStore } from './store.js';

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
  if (typeof options.name !== 'string' || options.name.length === 0) throw new InvalidArgumentError('join: name must be a non-empty string');
  if (typeof options.base?.sendBatch !== 'function') throw new InvalidArgumentError('join: base must be an open Conn<Uint8Array>');
  const store = options.store ?? defaultRendezvousStore();
  const drainMs = options.drainMs ?? store.leaseMs;
  if (!(drainMs > 0)) throw new InvalidArgumentError(`join: drainMs must be positive, got ${drainMs}`);
  const rv = new Rendezvous(stackInfo(stack), {
    name: options.name,
    member: options.member ?? randomUUID(),
    base: options.base,
    store,
    policy: options.policy,
    drainMs,
    passes: options.passes,
  });
  await rv.start(options.signal);
  return { conn: rv.conn as Conn<StackTop<S>>, handle: rv };
}
