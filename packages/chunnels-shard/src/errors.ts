import { BerthaError } from '@bertha/core';

export type ShardErrorCode =
  /** The message has no key the sharder can read (no key field, wrong type, not the negotiated layout). */
  | 'ERR_SHARD_KEY'
  /** The key's shard cannot be reached (its worker exited, its route is gone). */
  | 'ERR_SHARD_UNAVAILABLE';

/** A message could not be delivered to its shard; `shard` is its index when known. */
export class ShardError extends BerthaError {
  declare readonly code: ShardErrorCode;
  readonly shard: number | undefined;
  constructor(code: ShardErrorCode, message: string, shard?: number) {
    super(code, message);
    this.shard = shard;
  }
}

export const noKey = (field: string): ShardError =>
  new ShardError('ERR_SHARD_KEY', `message has no shard key: it needs a string or bytes field '${field}' (in the negotiated layout for a raw sharder)`);
