import { CcpError } from '../errors.js';

/** A link trace could not be read or is not in mahimahi format. */
export class TraceError extends CcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CCP_TRACE', message, options);
  }
}
