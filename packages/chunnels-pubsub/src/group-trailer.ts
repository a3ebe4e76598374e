/**
 * The group trailer: how an ordering group travels from a Chunnel to the base
 * connection through layers that only add headers (rendezvous epochs,
 * at-most-once ids). A frame ends with
 *
 *   group UTF-8 (0–255 bytes) | u8 length | u8 0xB7
 *
 * `serviceOrdering()` and `receiverOrdering()` write it (length 0: no group)
 * and strip it on receipt; a base connection opened with `groups: 'trailer'`
 * reads it to set the service's ordering group, and sends the frame unchanged.
 */
import { InvalidArgumentError } from '@bertha/core';
import { QueueError } from './errors.js';

export const TRAILER_MARK = 0xb7;
export const MAX_GROUP_BYTES = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** `payload` followed by the trailer for `group` (none when `undefined`). */
export function appendGroup(payload: Uint8Array, group: string | undefined): Uint8Array {
  const g = group === undefined ? new Uint8Array(0) : encoder.encode(group);
  if (g.byteLength > MAX_GROUP_BYTES) {
    throw new InvalidArgumentError(`ordering group of ${g.byteLength} bytes exceeds ${MAX_GROUP_BYTES}: use a shorter group key`);
  }
  const out = new Uint8Array(payload.byteLength + g.byteLength + 2);
  out.set(payload);
  out.set(g, payload.byteLength);
  out[out.length - 2] = g.byteLength;
  out[out.length - 1] = TRAILER_MARK;
  return out;
}

/** Splits a frame into its payload and group; `undefined` when it does not end with a trailer. */
export function splitGroup(frame: Uint8Array): { payload: Uint8Array; group: string | undefined } | undefined {
  const n = frame.byteLength;
  if (n < 2 || frame[n - 1] !== TRAILER_MARK) return undefined;
  const len = frame[n - 2] as number;
  if (n < len + 2) return undefined;
  try {
    const group = len === 0 ? undefined : decoder.decode(frame.subarray(n - 2 - len, n - 2));
    return { payload: frame.subarray(0, n - 2 - len), group };
  } catch {
    return undefined;
  }
}

/** The group of a frame sent on a `groups: 'trailer'` connection; a frame without a trailer is a stack mistake. */
export function trailerGroup(service: string, frame: Uint8Array): string | undefined {
  const split = splitGroup(frame);
  if (split === undefined) {
    throw new QueueError(
      'ERR_QUEUE_FRAME',
      service,
      "a message sent on a connection opened with groups: 'trailer' has no group trailer: put serviceOrdering() or receiverOrdering() in the stack, or open the connection without groups",
    );
  }
  return split.group;
}
