import type { Capability } from './capability.js';
import type { Conn } from './conn/conn.js';

/** Which end of a connection a Chunnel is being instantiated for. */
export type Role = 'client' | 'server';

/** Passed to `connectWrap`: who we are and who the peer is. */
export interface WrapContext {
  readonly role: Role;
  /** Printable address of the peer, when the base connection has one. */
  readonly peer?: string;
  readonly signal?: AbortSignal;
}

/** Passed to `picked` after negotiation chose this Chunnel, before wrapping. */
export interface PickedInfo {
  readonly role: Role;
  readonly peer?: string;
  /** Names of the chosen datapath stack, application side first. */
  readonly stack: readonly string[];
  /** This Chunnel's position in `stack`. */
  readonly position: number;
}

/**
 * One network function. It turns a connection carrying `Inner` (the one
 * below it) into a connection carrying `Outer` (what it offers above).
 *
 * `name` is a string literal type: optimization passes match on it.
 */
export interface Chunnel<Inner, Outer, Name extends string = string> {
  readonly name: Name;
  /** What negotiation must agree on; empty when this Chunnel is not negotiated. */
  capabilities(): readonly Capability[];
  connectWrap(inner: Conn<Inner>, ctx: WrapContext): Promise<Conn<Outer>>;
  /** Called when negotiation chose this Chunnel, before `connectWrap`. */
  picked?(info: PickedInfo): void | Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the widest Chunnel, for constraints only
export type AnyChunnel = Chunnel<any, any, string>;

export type InnerOf<C> = C extends Chunnel<infer I, infer _O, infer _N> ? I : never;
export type OuterOf<C> = C extends Chunnel<infer _I, infer O, infer _N> ? O : never;
export type NameOf<C> = C extends { readonly name: infer N extends string } ? N : never;
