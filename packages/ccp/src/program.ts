/**
 * The compiled form of datapath programs, shared by the compiler (lang/), the
 * runtime (datapath/) and the wire encoding (ipc/). Numbers here are wire
 * values of libccp/portus and must not change.
 */

/** Register types, as numbered on the wire. */
export const RegType = {
  ControlNonVolatile: 0,
  Immediate: 1,
  Implicit: 2,
  Local: 3,
  Primitive: 4,
  ReportVolatile: 5,
  ReportNonVolatile: 6,
  Tmp: 7,
  ControlVolatile: 8,
} as const;
export type RegType = (typeof RegType)[keyof typeof RegType];

/** Indices of implicit registers. */
export const Implicit = {
  EventFlag: 0,
  ShouldContinue: 1,
  ShouldReport: 2,
  Micros: 3,
  Cwnd: 4,
  Rate: 5,
} as const;
export type Implicit = (typeof Implicit)[keyof typeof Implicit];

export const Opcode = {
  Add: 0,
  Bind: 1,
  Def: 2,
  Div: 3,
  Equiv: 4,
  Ewma: 5,
  Gt: 6,
  If: 7,
  Lt: 8,
  Max: 9,
  MaxWrap: 10,
  Min: 11,
  Mul: 12,
  NotIf: 13,
  Sub: 14,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Read-only per-ACK and per-flow signals, by wire index. */
export const PRIMITIVES = [
  'Ack.bytes_acked',
  'Ack.bytes_misordered',
  'Ack.ecn_bytes',
  'Ack.ecn_packets',
  'Ack.lost_pkts_sample',
  'Ack.now',
  'Ack.packets_acked',
  'Ack.packets_misordered',
  'Flow.bytes_in_flight',
  'Flow.bytes_pending',
  'Flow.packets_in_flight',
  'Flow.rate_incoming',
  'Flow.rate_outgoing',
  'Flow.rtt_sample_us',
  'Flow.was_timeout',
] as const;
export type PrimitiveName = (typeof PRIMITIVES)[number];

/** Hard bounds of libccp; programs beyond them are rejected at compile and install time. */
export const Limits = {
  maxEvents: 256,
  /** Strictly fewer instructions than this (libccp's loop counter is 8-bit). */
  maxInstructions: 256,
  maxReportRegisters: 110,
  maxControlRegisters: 110,
  maxTmpRegisters: 8,
  maxLocalRegisters: 8,
  /** Values are unsigned 64-bit on the wire; `+infinity` is this u32 value as an immediate. */
  infinity: 0xffff_ffff,
} as const;

/** A register operand: its type and index (or, for immediates, its value). */
export interface Reg {
  readonly type: RegType;
  readonly index: number;
}

/** One 16-byte instruction: `res ← op(left, right)`. */
export interface Instruction {
  readonly op: Opcode;
  readonly res: Reg;
  readonly left: Reg;
  readonly right: Reg;
}

/** One `when` clause: condition instructions, then body instructions (absolute indices). */
export interface EventSpec {
  readonly flagIdx: number;
  readonly numFlag: number;
  readonly bodyIdx: number;
  readonly numBody: number;
}

/** A compiled program as installed on a datapath. */
export interface CompiledProgram {
  readonly events: readonly EventSpec[];
  readonly instructions: readonly Instruction[];
}
