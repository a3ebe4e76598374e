import type { Pass, ShowType, Stack, StackBottom } from '@bertha/core';
import type { RetransmitOptions } from './request.js';

/** Options shared by `connect`, `listen` and `preRegister`. */
export interface NegotiateOptions {
  readonly signal?: AbortSignal;
  /** How long one negotiation may take before `ERR_NEGOTIATION_TIMEOUT`. Default 5,000 ms. */
  readonly timeoutMs?: number;
  /** Datagram transports: how requests are re-sent while no answer comes. */
  readonly retransmit?: RetransmitOptions;
  /**
   * Optimization passes applied, in order, to the picked variant before it
   * is instantiated. Negotiation agrees on the stack before passes; passes
   * are local and must keep each position's types (as `applyPass` checks).
   */
  readonly passes?: readonly Pass[];
}

/** A stack whose bottom Chunnel does not take the base connection's bytes (a string literal type: `tsc` prints it at the stack argument). */
export type BottomMismatch<Bottom> =
  `bertha: the bottom Chunnel of the stack must take Uint8Array, the messages of a base connection; this one takes ${ShowType<Bottom>}`;

/** `unknown` (no constraint) when the stack can sit on a base connection. */
export type FitsBase<S extends Stack> = [Uint8Array] extends [StackBottom<S>] ? unknown : BottomMismatch<StackBottom<S>>;
