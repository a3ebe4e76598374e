// ListOffsets (key 2), v1–v3. Timestamp -1 asks for the end of the log, -2 for its start.
import type { Reader, Writer } from '../wire.js';

export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export interface ListOffsetsRequest {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly timestamp: number }>;
  }>;
}

export interface ListOffsetsResponse {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly errorCode: number; readonly timestamp: number; readonly offset: number }>;
  }>;
}

export function decodeListOffsetsRequest(r: Reader, version: number): ListOffsetsRequest {
  r.int32(); // replica id
  if (version >= 2) r.int8(); // isolation level
  return {
    topics: r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ partition: r.int32(), timestamp: r.int64() })),
    })),
  };
}

export function encodeListOffsetsResponse(w: Writer, version: number, l: ListOffsetsResponse): void {
  if (version >= 2) w.int32(0);
  w.array(l.topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => w.int32(p.partition).int16(p.errorCode).int64(p.timestamp).int64(p.offset));
  });
}
