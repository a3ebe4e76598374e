// OffsetFetch (key 9), v1–v4 (v0 read offsets kept in ZooKeeper).
import type { Reader, Writer } from '../wire.js';

export interface OffsetFetchRequest {
  readonly groupId: string;
  /** null (v2+): every partition the group has committed. */
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: number[] }> | null;
}

export interface OffsetFetchResponse {
  readonly errorCode: number;
  readonly topics: ReadonlyArray<{
    readonly name: string;
    /** offset -1: nothing committed. */
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number; readonly metadata: string | null; readonly errorCode: number }>;
  }>;
}

export function decodeOffsetFetchRequest(r: Reader, _version: number): OffsetFetchRequest {
  const groupId = r.string();
  return { groupId, topics: r.nullableArray((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) })) };
}

export function encodeOffsetFetchResponse(w: Writer, version: number, o: OffsetFetchResponse): void {
  if (version >= 3) w.int32(0);
  w.array(o.topics, (w, t) =>
    w.string(t.name).array(t.partitions, (w, p) => w.int32(p.partition).int64(p.offset).string(p.metadata).int16(p.errorCode)),
  );
  if (version >= 2) w.int16(o.errorCode);
}
