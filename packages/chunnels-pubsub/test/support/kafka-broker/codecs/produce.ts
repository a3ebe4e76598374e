// Produce (key 0), v3–v7 (record batches, magic 2).
import type { Reader, Writer } from '../wire.js';

export interface ProduceRequest {
  readonly transactionalId: string | null;
  /** 0: the client expects no response. */
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly records: Buffer | null }>;
  }>;
}

export interface ProducePartitionResult {
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  readonly logStartOffset: number;
}

export interface ProduceResponse {
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly ProducePartitionResult[] }>;
}

export function decodeProduceRequest(r: Reader, _version: number): ProduceRequest {
  return {
    transactionalId: r.nullableString(),
    acks: r.int16(),
    timeoutMs: r.int32(),
    topics: r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ partition: r.int32(), records: r.nullableBytes() })),
    })),
  };
}

export function encodeProduceResponse(w: Writer, version: number, p: ProduceResponse): void {
  w.array(p.topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, part) => {
      w.int32(part.partition).int16(part.errorCode).int64(part.baseOffset);
      w.int64(-1); // log append time: -1, topics use CreateTime
      if (version >= 5) w.int64(part.logStartOffset);
    });
  });
  w.int32(0);
}
