/**
 * Typed errors. Every error this package throws is a `BerthaError` with a
 * stable `code`; the message says what happened and what to do about it.
 */
export type ErrorCode =
  | 'ERR_CONN_CLOSED'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_DECODE'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_STACK'
  | 'ERR_ADDRESS'
  | 'ERR_TRANSPORT'
  | (string & {});

export class BerthaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The connection (or the peer) was closed; no more messages flow. */
export class ConnClosedError extends BerthaError {
  constructor(message = 'connection is closed: open a new one to keep sending', options?: { cause?: unknown }) {
    super('ERR_CONN_CLOSED', message, options);
  }
}

/** A message exceeds what the connection can carry in one unit. */
export class MessageTooLargeError extends BerthaError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, what = 'message') {
    super('ERR_MESSAGE_TOO_LARGE', `${what} of ${size} bytes exceeds the limit of ${limit} bytes: split it, or use a stream transport`);
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes from the peer could not be decoded. */
export class DecodeError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DECODE', message, options);
  }
}

/** A blocking call was cancelled through its `AbortSignal`. */
export class AbortError extends BerthaError {
  constructor(reason?: unknown) {
    super('ERR_ABORTED', 'operation was aborted', reason === undefined ? undefined : { cause: reason });
  }
}

/** An operation did not finish in the time allowed. */
export class TimeoutError extends BerthaError {
  constructor(message: string) {
    super('ERR_TIMEOUT', message);
  }
}

/** An argument is outside what the function accepts. */
export class InvalidArgumentError extends BerthaError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** A stack cannot be built or used as asked (for example `wrap` on a stack with a `select`). */
export class StackError extends BerthaError {
  constructor(message: string) {
    super('ERR_STACK', message);
  }
}

/** Throws the signal's abort as an `AbortError` if it is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError(signal.reason);
}
