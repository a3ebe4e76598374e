/**
 * What negotiation publishes on `node:diagnostics_channel`, client and
 * server alike: one `start` per negotiation, then a `pick` for each stack it
 * builds or a `failure`, all with the same `id`. A message is built only
 * when its channel has subscribers.
 */
import { channel } from 'node:diagnostics_channel';
import type { Conn, Role } from '@bertha/core';
import type { Negotiation } from '../negotiation.js';

/** `bertha:negotiate:start`: a client called `connect`, or a peer opened a connection to a listener. */
export interface NegotiateStartMessage {
  /** Names this negotiation in its `pick` and `failure` messages; unique in the process. */
  readonly id: number;
  readonly role: Role;
  /** The other end, as the transport prints it (`udp:127.0.0.1:4000`). */
  readonly peer: string;
}

/**
 * `bertha:negotiate:pick`: a picked stack was built and handed to the
 * application. A 0-RTT client publishes it at once, before the server's
 * verdict; if the server rejects the pick, another `pick` (with
 * `negotiation.rejections` counting) or a `failure` follows.
 */
export interface NegotiatePickMessage {
  readonly id: number;
  readonly role: Role;
  readonly peer: string;
  readonly negotiation: Negotiation;
  readonly conn: Conn<unknown>;
}

/** `bertha:negotiate:failure`: the negotiation ended without a connection (or, 0-RTT, the connection failed). */
export interface NegotiateFailureMessage {
  readonly id: number;
  readonly role: Role;
  readonly peer: string;
  /** A `NegotiationError` (its `code` says how), or what a Chunnel threw while the stack was built. */
  readonly error: Error;
}

export const NEGOTIATE_START = 'bertha:negotiate:start';
export const NEGOTIATE_PICK = 'bertha:negotiate:pick';
export const NEGOTIATE_FAILURE = 'bertha:negotiate:failure';

const startChannel = channel(NEGOTIATE_START);
const pickChannel = channel(NEGOTIATE_PICK);
const failureChannel = channel(NEGOTIATE_FAILURE);

let lastId = 0;

/** Starts a negotiation: its id, published with `start` if anyone listens. */
export function publishStart(role: Role, peer: string): number {
  const id = ++lastId;
  if (startChannel.hasSubscribers) startChannel.publish({ id, role, peer } satisfies NegotiateStartMessage);
  return id;
}

export function publishPick(id: number, conn: Conn<unknown>, negotiation: Negotiation): void {
  if (pickChannel.hasSubscribers) pickChannel.publish({ id, role: negotiation.role, peer: negotiation.peer, negotiation, conn } satisfies NegotiatePickMessage);
}

/** `error` is a function when making it costs: it is called only if someone listens. */
export function publishFailure(id: number, role: Role, peer: string, error: unknown): void {
  if (!failureChannel.hasSubscribers) return;
  const e = typeof error === 'function' ? (error as () => unknown)() : error;
  failureChannel.publish({ id, role, peer, error: e instanceof Error ? e : new Error(String(e)) } satisfies NegotiateFailureMessage);
}
