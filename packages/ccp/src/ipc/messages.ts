/**
 * The six IPC messages between a datapath and the agent (spec §3), as plain
 * objects. Numbers on the wire are little-endian; `codec.ts` turns these into
 * bytes and back.
 */
import type { CompiledProgram, RegType } from '../program.js';

/** Message type numbers on the wire. */
export const MsgType = {
  Create: 0,
  Measure: 1,
  InstallExpr: 2,
  UpdateFields: 3,
  ChangeProg: 4,
  Ready: 5,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** Bytes of the common header: `u16 type | u16 totalLen | u32 socketId`. */
export const HEADER_BYTES = 8;
/** Bytes of the fixed, NUL-padded algorithm name in CREATE. */
export const ALG_NAME_BYTES = 64;
/** Bytes of one packed update field: `u8 regType | u32 regIndex | u64 value`. */
export const UPDATE_FIELD_BYTES = 13;
/** Bytes of one event and of one instruction in INSTALL_EXPR. */
export const EVENT_BYTES = 16;
export const INSTRUCTION_BYTES = 16;
/** Largest datagram accepted; the originals never send more than one page. */
export const MAX_DATAGRAM_BYTES = 65_536;

/**
 * Values are u64 on the wire but plain numbers here: every value the runtime
 * computes stays in [0, 2^53 − 1] (larger results are arithmetic faults), and
 * a u64 above this from a foreign peer decodes saturated to this value, so a
 * huge value stays huge instead of wrapping.
 */
export const MAX_VALUE = Number.MAX_SAFE_INTEGER;

/** What a datapath tells the agent about a new flow (CREATE). */
export interface CreateInfo {
  /** Initial congestion window, bytes. */
  readonly initCwnd: number;
  /** Maximum segment size, bytes. */
  readonly mss: number;
  readonly srcIp: number;
  readonly srcPort: number;
  readonly dstIp: number;
  readonly dstPort: number;
  /** Algorithm the flow asks for (at most 63 UTF-8 bytes); the agent's default when empty. */
  readonly algorithm: string;
}

/** One register update carried by UPDATE_FIELDS and CHANGE_PROG. */
export interface UpdateField {
  /** Control registers (0, 8) or Implicit (2) with index Cwnd (4) or Rate (5). */
  readonly regType: RegType;
  readonly regIndex: number;
  readonly value: number;
}

export interface CreateMsg extends CreateInfo {
  readonly type: 'create';
  readonly socketId: number;
}

export interface MeasureMsg {
  readonly type: 'measure';
  readonly socketId: number;
  /** Program that produced the report: a report from an older program is stale. */
  readonly programUid: number;
  /** All Report registers in index order; never empty (an empty MEASURE is a close). */
  readonly fields: readonly number[];
}

/** The flow ended: on the wire a MEASURE with program uid 0 and no fields. */
export interface CloseMsg {
  readonly type: 'close';
  readonly socketId: number;
}

export interface InstallExprMsg {
  readonly type: 'install';
  /** Ignored by datapaths: programs are global, keyed by uid. */
  readonly socketId: number;
  readonly programUid: number;
  readonly program: CompiledProgram;
}

export interface UpdateFieldsMsg {
  readonly type: 'updateFields';
  readonly socketId: number;
  readonly updates: readonly UpdateField[];
}

export interface ChangeProgMsg {
  readonly type: 'changeProg';
  readonly socketId: number;
  readonly programUid: number;
  /** Initial values for the new program's controls (and Cwnd/Rate). */
  readonly updates: readonly UpdateField[];
}

/** A datapath (re)started; its socket id on the wire is 0. */
export interface ReadyMsg {
  readonly type: 'ready';
  readonly datapathId: number;
}

export type CcpMessage = CreateMsg | MeasureMsg | CloseMsg | InstallExprMsg | UpdateFieldsMsg | ChangeProgMsg | ReadyMsg;
