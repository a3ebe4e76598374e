import { CcpError } from '../errors.js';

/** Overflow beyond 2^53 − 1, subtraction below 0 or division by zero: the invocation is aborted. */
export class ArithmeticFaultError extends CcpError {
  /** Index of the faulting instruction in its program. */
  readonly instruction: number;
  constructor(message: string, instruction: number) {
    super('ERR_CCP_ARITHMETIC', `${message} at instruction ${instruction}: this ACK's cwnd/rate push and report were skipped; fix the program`);
    this.instruction = instruction;
  }
}

/** CHANGE_PROG named a program uid that was never installed. */
export class UnknownProgramError extends CcpError {
  readonly programUid: number;
  constructor(programUid: number) {
    super('ERR_CCP_UNKNOWN_PROGRAM', `no datapath program with uid ${programUid} is installed: send INSTALL_EXPR before CHANGE_PROG`);
    this.programUid = programUid;
  }
}

/** A message or call named a socket id with no live flow. */
export class UnknownFlowError extends CcpError {
  readonly socketId: number;
  constructor(socketId: number) {
    super('ERR_CCP_UNKNOWN_FLOW', `no flow with socket id ${socketId}: it was closed or never created`);
    this.socketId = socketId;
  }
}
