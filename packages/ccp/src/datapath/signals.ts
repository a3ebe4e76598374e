/**
 * What each ACK sets before the events run (spec §4 step 3 and the read-only
 * primitives of spec §1), and the interpreter's whole per-ACK step. The
 * primitives come from one table of fixed expressions: the interpreter loads
 * all of them into the bank, a compiled program reads into locals only those
 * it uses (codegen.ts).
 */
import { MAX_VALUE } from '../ipc/messages.js';
import { Implicit, PRIMITIVES } from '../program.js';
import type { DatapathCallbacks, Primitives } from './datapath.js';
import { type LoadedProgram, type MachineState, runEvents, Slot } from './machine.js';

/** Clamps a transport-supplied number into the value range; NaN and negatives read as 0. */
export function val(v: number | undefined): number {
  // The common case, an integer in [0, 2^32), costs one comparison (-0 passes as Math.floor leaves it).
  if ((v as number) >>> 0 === v) return v;
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

/** A flow's state as a step sees it: its registers, time zero, socket id. */
export interface FlowState extends MachineState {
  readonly id: number;
}

/** The callbacks a step pushes Cwnd and Rate through. */
export type Pushes = Pick<DatapathCallbacks, 'setCwnd' | 'setRate'>;

/**
 * One ACK of a program (spec §4 steps 3–5): `cwnd` and `rate` are the Cwnd and
 * Rate registers at entry (the flow's values, after staged updates), `now` the
 * invocation's clock, `ackNow` Ack.now. Pushes Cwnd if > 0 and Rate if ≠ 0,
 * and returns non-zero when a report is due (never for a program without
 * Report registers: a MEASURE with no fields would close the flow at the
 * agent). Throws `ArithmeticFaultError`, having pushed nothing; registers
 * written before the fault keep their values.
 */
export type ProgramStep = (f: FlowState, prims: Primitives, now: number, ackNow: number, cwnd: number, rate: number) => number;

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the fixed table and integer slots only
const makeLoadAll = new Function(
  'val',
  `'use strict';\nreturn function load(b, p, ackNow) {\n${PRIMITIVES.map((_, i) => `b[${Slot.primitive + i}] = ${EXPRESSIONS[i]!};`).join('\n')}\n};`,
) as (v: typeof val) => (bank: Float64Array, p: Primitives, ackNow: number) => void;
const loadAll = makeLoadAll(val);

const CWND = Slot.implicit + Implicit.Cwnd;
const RATE = Slot.implicit + Implicit.Rate;
const REPORT = Slot.implicit + Implicit.ShouldReport;

/** The interpreter's step: every primitive into the bank, then `runEvents`. */
export function interpreterStep(p: LoadedProgram, cb: Pushes): ProgramStep {
  return (f, prims, now, ackNow, cwnd, rate) => {
    const b = f.bank;
    f.now = now;
    b[CWND] = cwnd;
    b[RATE] = rate;
    b[Slot.implicit + Implicit.EventFlag] = 0;
    b[Slot.implicit + Implicit.ShouldContinue] = 0;
    b[REPORT] = 0;
    b[Slot.implicit + Implicit.Micros] = val(now - f.timeZero);
    loadAll(b, prims, ackNow);
    runEvents(p, f);
    const c = b[CWND];
    const r = b[RATE];
    if (c > 0) cb.setCwnd(f.id, c);
    if (r !== 0) cb.setRate(f.id, r);
    return p.reportCount > 0 ? b[REPORT] : 0;
  };
}
