/**
 * What rendezvous endpoints publish on `node:diagnostics_channel`: the
 * transitions each one hears of, and its view of the store. Every endpoint
 * publishes what it sees (`member` says which), so endpoints in one process
 * each report the same commit. A message is built only when its channel has
 * subscribers.
 */
import { channel } from 'node:diagnostics_channel';
import { decodePick } from '../rendezvous/join-pick.js';

interface Endpoint {
  /** The rendezvous name. */
  readonly name: string;
  /** The member that publishes (hears) it. */
  readonly member: string;
}

/**
 * `bertha:rendezvous:transition`, as the store reports it (Redis may coalesce
 * close changes, so a `committed` can come without its `proposed`):
 * `proposed`: a member staged a change (`round` is odd); `committed` and
 * `rolled-back`: it ended (`round` is the new, even round); `switched`: this
 * endpoint now sends with `pick`.
 */
export type RendezvousTransitionMessage = Endpoint &
  (
    | { readonly phase: 'proposed'; readonly generation: string | undefined; readonly round: number; readonly pick: readonly string[]; readonly committer: string }
    | { readonly phase: 'committed'; readonly generation: string | undefined; readonly round: number; readonly pick: readonly string[] }
    | {
        readonly phase: 'rolled-back';
        readonly generation: string | undefined;
        readonly round: number;
        /** `refused`: member `by` refused; `abandoned`: the committer `by` left or its lease expired. */
        readonly reason: 'refused' | 'abandoned';
        readonly by: string;
      }
    | { readonly phase: 'switched'; readonly pick: readonly string[] }
  );

/**
 * `bertha:rendezvous:store`: `down`: a store call failed with
 * `StoreUnavailableError` (once per outage; data keeps flowing); `up`: the
 * member renewed its lease again after that; `generation`: the store had
 * lost the rendezvous' state and the member registered again in a new
 * generation.
 */
export type RendezvousStoreMessage = Endpoint &
  (
    | { readonly status: 'down'; readonly error: Error }
    | { readonly status: 'up' }
    | { readonly status: 'generation'; readonly generation: string; readonly previous: string }
  );

export const RENDEZVOUS_TRANSITION = 'bertha:rendezvous:transition';
export const RENDEZVOUS_STORE = 'bertha:rendezvous:store';

const transitionChannel = channel(RENDEZVOUS_TRANSITION);
const storeChannel = channel(RENDEZVOUS_STORE);

/** Chunnel names of an encoded pick; empty when it cannot be read (another version's pick). */
export function pickNames(pick: Uint8Array): readonly string[] {
  try {
    return decodePick(pick).offer.chunnels.map((c) => c.name);
  } catch {
    return [];
  }
}

export function publishTransition(message: () => RendezvousTransitionMessage): void {
  if (transitionChannel.hasSubscribers) transitionChannel.publish(message());
}

export function publishStore(message: () => RendezvousStoreMessage): void {
  if (storeChannel.hasSubscribers) storeChannel.publish(message());
}
