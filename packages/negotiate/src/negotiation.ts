import type { Conn, Role, SelectDecision } from '@bertha/core';
import type { AgreedPick } from './pick.js';

/** How a connection's stack came about. */
export interface Negotiation {
  /** `1-rtt`: offer and pick; `0-rtt`: a cached pick the server accepted; `pre-registered`: a pick a third party registered. */
  readonly mode: '1-rtt' | '0-rtt' | 'pre-registered';
  readonly role: Role;
  /** This end's and the peer's addresses, as the transport prints them. */
  readonly local: string;
  readonly peer: string;
  /** Names of the picked variant, application side first. */
  readonly variant: readonly string[];
  /** Names of the datapath stack after optimization passes: what runs. */
  readonly stack: readonly string[];
  /** Why each select took the branch it took. */
  readonly decisions: readonly SelectDecision[];
  /** The agreement itself: cache it, or pre-register it at a third party. */
  readonly pick: AgreedPick;
  /** Client, 0-RTT: how many cached picks the server rejected before this one. */
  readonly rejections: number;
}

interface Entry {
  current(): Negotiation;
  readonly confirmed: Promise<Negotiation>;
}

const entries = new WeakMap<object, Entry>();

export function record(conn: object, entry: Entry): void {
  entries.set(conn, entry);
}

/** How `conn` (from `connect` or a listener) was negotiated; undefined for other connections. */
export function negotiated(conn: Conn<unknown>): Negotiation | undefined {
  return entries.get(conn)?.current();
}

/**
 * Resolves once the peer has agreed to `conn`'s stack: at once for 1-RTT and
 * server connections; for 0-RTT when the server acknowledged (after any
 * re-negotiation). Rejects with the `NegotiationError` that ended it.
 */
export function confirmed(conn: Conn<unknown>): Promise<Negotiation> {
  const e = entries.get(conn);
  return e ? e.confirmed : Promise.reject(new TypeError('confirmed(): this connection was not made by @bertha/negotiate'));
}
