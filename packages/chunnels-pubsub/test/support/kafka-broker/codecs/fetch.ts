// Fetch (key 1), v4–v11. Fetch sessions (KIP-227) are declined: every response carries
// session id 0, which tells the client to keep sending full fetch requests.
import type { Reader, Writer } from '../wire.js';

export interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly fetchOffset: number; readonly maxBytes: number }>;
  }>;
}

export interface FetchPartitionResult {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly batches: readonly Buffer[];
}

export interface FetchResponse {
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: readonly FetchPartitionResult[] }>;
}

export function decodeFetchRequest(r: Reader, version: number): FetchRequest {
  r.int32(); // replica id: -1 for consumers
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = version >= 3 ? r.int32() : 0x7fffffff;
  if (version >= 4) r.int8(); // isolation level: without transactions both levels read the same
  if (version >= 7) {
    r.int32(); // session id
    r.int32(); // session epoch
  }
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      const partition = r.int32();
      if (version >= 9) r.int32(); // current leader epoch
      const fetchOffset = r.int64();
      if (version >= 5) r.int64(); // the follower's log start offset
      return { partition, fetchOffset, maxBytes: r.int32() };
    }),
  }));
  if (version >= 7) r.array((r) => [r.string(), r.array((r) => r.int32())]); // forgotten topics: no sessions, nothing to forget
  if (version >= 11) r.string(); // rack id
  return { maxWaitMs, minBytes, maxBytes, topics };
}

export function encodeFetchResponse(w: Writer, version: number, f: FetchResponse): void {
  w.int32(0); // throttle time (v1+)
  if (version >= 7) w.int16(0).int32(0);
  w.array(f.topics, (w, t) => {
    w.string(t.name).array(t.partitions, (w, p) => {
      w.int32(p.partition).int16(p.errorCode).int64(p.highWatermark);
      w.int64(p.highWatermark); // last stable offset: no transactions, so the high watermark
      if (version >= 5) w.int64(p.logStartOffset);
      w.array([], () => undefined); // aborted transactions
      if (version >= 11) w.int32(-1); // preferred read replica
      w.bytesList(p.batches);
    });
  });
}
