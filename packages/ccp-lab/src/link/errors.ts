import { BerthaError } from '@bertha/core';

/** A link trace could not be read or is not in mahimahi format. */
export class TraceError extends BerthaError {
  declare readonly code: 'ERR_CCP_TRACE';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CCP_TRACE', message, options);
  }
}
