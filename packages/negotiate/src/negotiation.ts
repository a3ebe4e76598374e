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
  /** Server, 0-RTT: what of the data arrived as 0-RTT early data (live); undefined for other connections. */
  readonly earlyData: EarlyData | undefined;
}

/**
 * A server connection's 0-RTT early data: what the client sent before it knew
 * the server accepted its pick. The listener accepts each 0-RTT request once
 * (replay protection), but early data is still for idempotent requests, as
 * in TLS 1.3: a client whose request was lost may send it again.
 */
export interface EarlyData {
  /** Data messages received so far that the client sent as early data (they come first, unless the network reorders them). */
  readonly messages: number;
}

/** A connection whose negotiation may still change or fail (0-RTT). */
export interface LiveNegotiation {
  readonly negotiation: Negotiation;
  confirmed(): Promise<Negotiation>;
}

/**
 * Where a negotiation is kept: on the connection, under a symbol (a WeakMap
 * entry per connection showed in set-up profiles, and in GC); in a WeakMap
 * only for a connection that cannot take a property. A connection whose
 * negotiation may still change (0-RTT) is recorded as its own live
 * negotiation.
 */
const NEGOTIATION = Symbol('bertha.negotiation');
type Recorded = { [NEGOTIATION]?: Negotiation | LiveNegotiation };
const sealed = new WeakMap<object, Negotiation | LiveNegotiation>();

export function record(conn: object, n: Negotiation | LiveNegotiation): void {
  if (Object.isExtensible(conn)) (conn as Recorded)[NEGOTIATION] = n;
  else sealed.set(conn, n);
}

function entry(conn: Conn<unknown>): Negotiation | LiveNegotiation | undefined {
  return (conn as Recorded)[NEGOTIATION] ?? sealed.get(conn);
}

const isLive = (e: Negotiation | LiveNegotiation): e is LiveNegotiation => !('mode' in e);

/** How `conn` (from `connect` or a listener) was negotiated; undefined for other connections. */
export function negotiated(conn: Conn<unknown>): Negotiation | undefined {
  const e = entry(conn);
  return e === undefined || !isLive(e) ? e : e.negotiation;
}

/**
 * Resolves once the peer has agreed to `conn`'s stack: at once for 1-RTT and
 * server connections; for 0-RTT when the server acknowledged (after any
 * re-negotiation). Rejects with the `NegotiationError` that ended it.
 */
export function confirmed(conn: Conn<unknown>): Promise<Negotiation> {
  const e = entry(conn);
  if (e === undefined) return Promise.reject(new TypeError('confirmed(): this connection was not made by @bertha/negotiate'));
  return isLive(e) ? e.confirmed() : Promise.resolve(e);
}
