// Record batches (magic 2), as a Produce request carries them and a Fetch response
// returns them. The broker stores each batch as received and reads only its header:
// it checks length, magic and CRC, and writes the offset it assigns into the
// baseOffset field (outside the CRC, as a real broker does). Records inside are never
// decoded, so compressed batches pass through untouched.
import { crc32c } from './crc32c.js';

/** Bytes before the records: baseOffset … recordCount. */
export const BATCH_HEADER_BYTES = 61;
const LENGTH_AT = 8;
const LEADER_EPOCH_AT = 12;
const MAGIC_AT = 16;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const MAX_TIMESTAMP_AT = 35;
const RECORD_COUNT_AT = 57;

export interface StoredBatch {
  readonly baseOffset: number;
  /** baseOffset + lastOffsetDelta */
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  /** The whole batch, baseOffset rewritten. */
  readonly bytes: Buffer;
}

export class InvalidBatchError extends Error {
  readonly code = 'ERR_KAFKA_INVALID_BATCH';
}

/** Splits a partition's `records` field into batches, checking each. Throws InvalidBatchError. */
export function splitBatches(records: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH_HEADER_BYTES) throw new InvalidBatchError(`trailing ${records.length - at} bytes are not a record batch`);
    const total = 12 + records.readInt32BE(at + LENGTH_AT);
    if (total < BATCH_HEADER_BYTES || at + total > records.length) throw new InvalidBatchError(`batch length ${total - 12} does not fit`);
    const batch = records.subarray(at, at + total);
    const magic = batch.readInt8(MAGIC_AT);
    if (magic !== 2) throw new InvalidBatchError(`record batch magic ${magic} (this broker stores magic 2 only)`);
    if (crc32c(batch.subarray(ATTRIBUTES_AT)) !== batch.readUInt32BE(CRC_AT)) throw new InvalidBatchError('record batch CRC does not match');
    const lastOffsetDelta = batch.readInt32BE(LAST_OFFSET_DELTA_AT);
    const count = batch.readInt32BE(RECORD_COUNT_AT);
    if (count <= 0 || lastOffsetDelta < count - 1) throw new InvalidBatchError(`record count ${count} with last offset delta ${lastOffsetDelta}`);
    batches.push(batch);
    at += total;
  }
  return batches;
}

/** A copy of a checked batch placed at `baseOffset` (the producer's buffer is not kept). */
export function placeBatch(batch: Buffer, baseOffset: number): StoredBatch {
  const bytes = Buffer.from(batch);
  bytes.writeBigInt64BE(BigInt(baseOffset), 0);
  bytes.writeInt32BE(0, LEADER_EPOCH_AT);
  return {
    baseOffset,
    lastOffset: baseOffset + bytes.readInt32BE(LAST_OFFSET_DELTA_AT),
    maxTimestamp: Number(bytes.readBigInt64BE(MAX_TIMESTAMP_AT)),
    bytes,
  };
}
