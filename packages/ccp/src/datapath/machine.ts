/**
 * The interpreter. A flow's registers live in one Float64Array (its "bank");
 * at install every operand is resolved to a bank slot, so running an
 * instruction is two loads, one switch and one store.
 *
 * Values are integers in [0, 2^53 − 1]: results beyond that, subtraction below
 * zero and division by zero are arithmetic faults (libccp checks the same at
 * 2^64). Booleans are 0 and 1; `&&`/`||` arrive compiled to MUL/ADD.
 */
import { type CompiledProgram, Implicit, Limits, Opcode, PRIMITIVES, type Reg, RegType } from '../program.js';
import { MAX_VALUE } from '../ipc/messages.js';
import { checkProgram, isReportReg } from '../check.js';
import { ArithmeticFaultError } from './errors.js';

const REPORT = Limits.maxControlRegisters;
const IMPLICIT = REPORT + Limits.maxReportRegisters;
const TMP = IMPLICIT + Object.keys(Implicit).length;
const LOCAL = TMP + Limits.maxTmpRegisters;
const PRIMITIVE = LOCAL + Limits.maxLocalRegisters;

/** Bank layout: fixed register files (volatile and not share one), then the program's immediates. */
export const Slot = {
  control: 0,
  report: REPORT,
  implicit: IMPLICIT,
  tmp: TMP,
  local: LOCAL,
  primitive: PRIMITIVE,
  immediate: PRIMITIVE + PRIMITIVES.length,
} as const;

export const MICROS_SLOT = Slot.implicit + Implicit.Micros;
const EWMA_DENOM = 10;

/** A checked program with operands resolved to bank slots; shared by all flows running it. */
export interface LoadedProgram {
  readonly uid: number;
  readonly source: CompiledProgram;
  readonly op: Uint8Array;
  readonly res: Uint16Array;
  readonly left: Uint16Array;
  readonly right: Uint16Array;
  /** Per event: condition start, condition end, body start, body end. */
  readonly events: Uint16Array;
  readonly immediates: Float64Array;
  /** DEF'd registers and their initial values; `volatile` ones are reset after each report. */
  readonly defSlots: Uint16Array;
  readonly defValues: Float64Array;
  readonly volatileSlots: Uint16Array;
  readonly volatileValues: Float64Array;
  /** Report registers 0..reportCount−1 are sent in MEASURE. */
  readonly reportCount: number;
  readonly bankSize: number;
}

const BASE: Record<Exclude<RegType, typeof RegType.Immediate>, number> = {
  [RegType.ControlNonVolatile]: Slot.control,
  [RegType.ControlVolatile]: Slot.control,
  [RegType.ReportNonVolatile]: Slot.report,
  [RegType.ReportVolatile]: Slot.report,
  [RegType.Implicit]: Slot.implicit,
  [RegType.Tmp]: Slot.tmp,
  [RegType.Local]: Slot.local,
  [RegType.Primitive]: Slot.primitive,
};

/** Checks (throws `LimitError`/`InvalidProgramError`) and resolves a program for the interpreter. */
export function loadProgram(uid: number, source: CompiledProgram): LoadedProgram {
  checkProgram(source);
  const immediates: number[] = [];
  const immSlot = new Map<number, number>();
  const slotOf = (r: Reg): number => {
    if (r.type !== RegType.Immediate) return BASE[r.type] + r.index;
    let s = immSlot.get(r.index);
    if (s === undefined) {
      s = Slot.immediate + immediates.length;
      immSlot.set(r.index, s);
      immediates.push(r.index);
    }
    return s;
  };
  const n = source.instructions.length;
  const op = new Uint8Array(n);
  const res = new Uint16Array(n);
  const left = new Uint16Array(n);
  const right = new Uint16Array(n);
  const defs: [number, number][] = [];
  const volatiles: [number, number][] = [];
  let reportCount = 0;
  source.instructions.forEach((ins, i) => {
    op[i] = ins.op;
    res[i] = slotOf(ins.res);
    left[i] = slotOf(ins.left);
    right[i] = slotOf(ins.right);
    if (ins.op !== Opcode.Def) return;
    const def: [number, number] = [res[i], ins.right.index];
    defs.push(def);
    if (ins.res.type === RegType.ReportVolatile || ins.res.type === RegType.ControlVolatile) volatiles.push(def);
    if (isReportReg(ins.res.type)) reportCount++;
  });
  const events = new Uint16Array(4 * source.events.length);
  source.events.forEach((ev, e) => events.set([ev.flagIdx, ev.flagIdx + ev.numFlag, ev.bodyIdx, ev.bodyIdx + ev.numBody], 4 * e));
  return {
    uid,
    source,
    op,
    res,
    left,
    right,
    events,
    immediates: Float64Array.from(immediates),
    defSlots: Uint16Array.from(defs, (d) => d[0]),
    defValues: Float64Array.from(defs, (d) => d[1]),
    volatileSlots: Uint16Array.from(volatiles, (d) => d[0]),
    volatileValues: Float64Array.from(volatiles, (d) => d[1]),
    reportCount,
    bankSize: Slot.immediate + immediates.length,
  };
}

/** A fresh bank for `p`: every register 0, then DEF values and immediates. */
export function initBank(p: LoadedProgram, bank?: Float64Array): Float64Array {
  const b = bank !== undefined && bank.length === p.bankSize ? bank.fill(0) : new Float64Array(p.bankSize);
  for (let i = 0; i < p.defSlots.length; i++) b[p.defSlots[i]!] = p.defValues[i]!;
  b.set(p.immediates, Slot.immediate);
  return b;
}

/** Resets volatile Report and control registers after a report. */
export function resetVolatile(p: LoadedProgram, bank: Float64Array): void {
  for (let i = 0; i < p.volatileSlots.length; i++) bank[p.volatileSlots[i]!] = p.volatileValues[i]!;
}

// Floor division exact over [0, 2^53): the float quotient can round up across an integer, never down.
function div(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : q;
}

// libccp's distance from `l` forward to `r` on the u32 circle (its off-by-one kept).
function dif32(l: number, r: number): number {
  return r > l ? r - l : 0xffff_ffff - l + r;
}

/** MAXWRAP: the later of two u32 sequence numbers; 0 means unset. */
export function maxWrap(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  const a32 = a % 0x1_0000_0000;
  const b32 = b % 0x1_0000_0000;
  return dif32(b32, a32) < dif32(a32, b32) ? a32 : b32;
}

/** Where the interpreter reads the time and writes Micros; the caller's per-flow state. */
export interface MachineState {
  bank: Float64Array;
  /** µs timestamp Micros counts from. */
  timeZero: number;
  /** The invocation's clock reading, µs. */
  now: number;
}

/** The faults of instruction `i`, shared with the compiled runtime so both throw the same errors. */
export const faults = {
  add: (a: number, b: number, i: number) => new ArithmeticFaultError(`overflow: ${a} + ${b}`, i),
  mul: (a: number, b: number, i: number) => new ArithmeticFaultError(`overflow: ${a} * ${b}`, i),
  sub: (a: number, b: number, i: number) => new ArithmeticFaultError(`underflow: ${a} - ${b}`, i),
  div: (a: number, i: number) => new ArithmeticFaultError(`division by zero: ${a} / 0`, i),
  ewmaWeight: (w: number, i: number) => new ArithmeticFaultError(`ewma weight ${w} is above ${EWMA_DENOM}`, i),
  ewma: (w: number, old: number, v: number, i: number) => new ArithmeticFaultError(`overflow in ewma(${w}, ${old}, ${v})`, i),
};

function runRange(p: LoadedProgram, s: MachineState, from: number, to: number): void {
  const { op, res, left, right } = p;
  const bank = s.bank;
  // Slots were bounds-checked at load, so the `!`s below cannot be undefined.
  for (let i = from; i < to; i++) {
    const a = bank[left[i]!]!;
    const b = bank[right[i]!]!;
    const dst = res[i]!;
    let v: number;
    switch (op[i]) {
      case Opcode.Add:
        v = a + b;
        if (v > MAX_VALUE) throw faults.add(a, b, i);
        break;
      case Opcode.Bind:
        v = b;
        break;
      case Opcode.Div:
        if (b === 0) throw faults.div(a, i);
        v = div(a, b);
        break;
      case Opcode.Equiv:
        v = a === b ? 1 : 0;
        break;
      case Opcode.Ewma: {
        // dst ← v if dst = 0, else (a·dst + (10−a)·v) / 10, a = left = weight, v = right
        const old = bank[dst]!;
        if (a > EWMA_DENOM) throw faults.ewmaWeight(a, i);
        if (old === 0) {
          v = b;
          break;
        }
        const num = a * old + (EWMA_DENOM - a) * b;
        if (num > MAX_VALUE) throw faults.ewma(a, old, b, i);
        v = div(num, EWMA_DENOM);
        break;
      }
      case Opcode.Gt:
        v = a > b ? 1 : 0;
        break;
      case Opcode.If:
        if (a === 0) continue;
        v = b;
        break;
      case Opcode.Lt:
        v = a < b ? 1 : 0;
        break;
      case Opcode.Max:
        v = a > b ? a : b;
        break;
      case Opcode.MaxWrap:
        v = maxWrap(a, b);
        break;
      case Opcode.Min:
        v = a < b ? a : b;
        break;
      case Opcode.Mul:
        v = a * b;
        if (v > MAX_VALUE) throw faults.mul(a, b, i);
        break;
      case Opcode.NotIf:
        if (a !== 0) continue;
        v = b;
        break;
      case Opcode.Sub:
        v = a - b;
        if (v < 0) throw faults.sub(a, b, i);
        break;
      default:
        continue; // DEF: only the prologue, applied at program change (as libccp)
    }
    bank[dst] = v;
    // Assigning Micros moves time zero so that Micros reads the assigned value.
    if (dst === MICROS_SLOT) s.timeZero = s.now - v;
  }
}

/**
 * Runs the events of `p` in order (spec §4 step 4): condition, then body when
 * the flag is set; stops after a true event unless shouldContinue is set.
 * Throws `ArithmeticFaultError`; registers written before the fault keep
 * their values, as in libccp.
 */
export function runEvents(p: LoadedProgram, s: MachineState): void {
  const ev = p.events;
  const bank = s.bank;
  const flag = Slot.implicit + Implicit.EventFlag;
  const cont = Slot.implicit + Implicit.ShouldContinue;
  for (let e = 0; e < ev.length; e += 4) {
    runRange(p, s, ev[e]!, ev[e + 1]!);
    if (bank[flag] === 0) continue;
    runRange(p, s, ev[e + 2]!, ev[e + 3]!);
    if (bank[flag] !== 0 && bank[cont] === 0) break;
  }
}
