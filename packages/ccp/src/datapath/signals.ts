/**
 * What each ACK sets before the events run (spec §4 step 3 and the read-only
 * primitives of spec §1), and the interpreter's whole per-ACK run. The
 * primitives come from one table of fixed expressions: the interpreter loads
 * all of them into the bank, a compiled program reads into locals only those
 * it uses (codegen.ts).
 */
import { MAX_VALUE } from '../ipc/messages.js';
import { Implicit, PRIMITIVES } from '../program.js';
import type { Primitives } from './datapath.js';
import { type LoadedProgram, type MachineState, runEvents, Slot } from './machine.js';

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

/** The expression for primitive `i` (a checked wire index). */
export function primitiveExpression(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= PRIMITIVES.length) throw new RangeError(`no primitive ${i}`);
  return EXPRESSIONS[i]!;
}

/** One ACK of a program (spec §4 steps 3–4): `ackNow` is Ack.now; `s.now` the invocation's clock. Throws `ArithmeticFaultError`. */
export type ProgramRun = (s: MachineState, prims: Primitives, ackNow: number) => void;

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the fixed table and integer slots only
const makeLoadAll = new Function(
  'val',
  `'use strict';\nreturn function load(b, p, ackNow) {\n${PRIMITIVES.map((_, i) => `b[${Slot.primitive + i}] = ${EXPRESSIONS[i]!};`).join('\n')}\n};`,
) as (v: typeof val) => (bank: Float64Array, p: Primitives, ackNow: number) => void;
const loadAll = makeLoadAll(val);

/** The interpreter's run: every primitive into the bank, then `runEvents`. */
export function interpreterRun(p: LoadedProgram): ProgramRun {
  return (s, prims, ackNow) => {
    const b = s.bank;
    b[Slot.implicit + Implicit.EventFlag] = 0;
    b[Slot.implicit + Implicit.ShouldContinue] = 0;
    b[Slot.implicit + Implicit.ShouldReport] = 0;
    b[Slot.implicit + Implicit.Micros] = val(s.now - s.timeZero);
    loadAll(b, prims, ackNow);
    runEvents(p, s);
  };
}
