/**
 * Loading an ACK's signals (the read-only primitives of spec §1) into a
 * register bank. The loader is generated from one table of fixed
 * expressions: the interpreter loads all of them, a compiled program only
 * those it reads (unread primitive registers are never observed).
 */
import { MAX_VALUE } from '../ipc/messages.js';
import { PRIMITIVES } from '../program.js';
import type { Primitives } from './datapath.js';
import { Slot } from './machine.js';

/** Clamps a transport-supplied number into the value range; NaN and negatives read as 0. */
export function val(v: number | undefined): number {
  // `undefined >= 0` and `NaN >= 0` are false: one comparison covers them.
  return v !== undefined && v >= 0 ? (v > MAX_VALUE ? MAX_VALUE : Math.floor(v)) : 0;
}

/** Each primitive's value, by wire index, as an expression over `p` (the Primitives) and `ackNow` (Ack.now, µs). */
const EXPRESSIONS: readonly string[] = [
  'val(p.bytesAcked)',
  'val(p.bytesMisordered)',
  'val(p.ecnBytes)',
  'val(p.ecnPackets)',
  'val(p.lostPktsSample)',
  'ackNow',
  'val(p.packetsAcked)',
  'val(p.packetsMisordered)',
  'val(p.bytesInFlight)',
  'val(p.bytesPending)',
  'val(p.packetsInFlight)',
  'val(p.rateIncoming)',
  'val(p.rateOutgoing)',
  'p.rttSampleUs ? val(p.rttSampleUs) : 4294967295', // 0 (no sample) reads as 0xFFFFFFFF, as in libccp
  'p.wasTimeout === true ? 1 : 0',
];

/** Writes the primitives of one ACK into `bank`. */
export type SignalLoader = (bank: Float64Array, p: Primitives, ackNow: number) => void;

/** A loader for the primitives at `indices` (wire indices, checked); the source holds only the fixed table and slot numbers. */
export function makeLoader(indices: Iterable<number>): SignalLoader {
  const lines: string[] = [];
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= PRIMITIVES.length) throw new RangeError(`no primitive ${i}`);
    lines.push(`b[${Slot.primitive + i}] = ${EXPRESSIONS[i]!};`);
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- fixed expressions and integer slots only
  const make = new Function('val', `'use strict';\nreturn function load(b, p, ackNow) {\n${lines.join('\n')}\n};`) as (v: typeof val) => SignalLoader;
  return make(val);
}

/** Loads every primitive (the interpreter's loader). */
export const loadAllSignals: SignalLoader = makeLoader(PRIMITIVES.keys());
