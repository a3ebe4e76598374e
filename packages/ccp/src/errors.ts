import { BerthaError } from '@bertha/core';

/** Error codes of @bertha/ccp; stable, for programmatic handling. */
export type CcpErrorCode =
  | 'ERR_CCP_PARSE'
  | 'ERR_CCP_CHECK'
  | 'ERR_CCP_INVALID_PROGRAM'
  | 'ERR_CCP_LIMIT'
  | 'ERR_CCP_ARITHMETIC'
  | 'ERR_CCP_IPC_DECODE'
  | 'ERR_CCP_UNKNOWN_PROGRAM'
  | 'ERR_CCP_UNKNOWN_FLOW'
  | 'ERR_CCP_REPORT'
  | 'ERR_CCP_INVALID_UPDATE'
  | 'ERR_CCP_PEER_UNREACHABLE'
  | 'ERR_CCP_UNACKNOWLEDGED'
  | 'ERR_CCP_UNIX_DGRAM_MISSING';

export class CcpError extends BerthaError {
  declare readonly code: CcpErrorCode;
  constructor(code: CcpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A position in datapath-program source text (1-based). */
export interface SourcePos {
  readonly line: number;
  readonly column: number;
}

/** The program text is not well-formed. */
export class ParseError extends CcpError {
  readonly pos: SourcePos;
  constructor(message: string, pos: SourcePos) {
    super('ERR_CCP_PARSE', `${pos.line}:${pos.column}: ${message}`);
    this.pos = pos;
  }
}

/** The program is well-formed but invalid (unknown name, type error, misplaced `if`/`ewma` …). */
export class CheckError extends CcpError {
  readonly pos: SourcePos;
  constructor(message: string, pos: SourcePos) {
    super('ERR_CCP_CHECK', `${pos.line}:${pos.column}: ${message}`);
    this.pos = pos;
  }
}

/** A program or message exceeds a hard bound of the datapath (registers, instructions, events). */
export class LimitError extends CcpError {
  constructor(message: string) {
    super('ERR_CCP_LIMIT', message);
  }
}

/** An IPC message could not be decoded; the datagram is rejected, the peer keeps being served. */
export class IpcDecodeError extends CcpError {
  constructor(message: string) {
    super('ERR_CCP_IPC_DECODE', message);
  }
}

/**
 * A compiled program breaks a rule of the instruction set (unknown opcode,
 * write to an immediate or a primitive, DEF outside the prologue …). Bounds
 * (too many events or instructions) are `LimitError`s.
 */
export class InvalidProgramError extends CcpError {
  constructor(message: string) {
    super('ERR_CCP_INVALID_PROGRAM', `invalid datapath program: ${message}; recompile it with the agent's compiler`);
  }
}

/** An update names a register that updates may not set. */
export class InvalidUpdateError extends CcpError {
  constructor(message: string) {
    super('ERR_CCP_INVALID_UPDATE', message);
  }
}
