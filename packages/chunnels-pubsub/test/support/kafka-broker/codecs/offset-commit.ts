// OffsetCommit (key 8), v0–v5.
import type { Reader, Writer } from '../wire.js';

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 with memberId '': a commit from outside any generation (a simple consumer). */
  readonly generationId: number;
  readonly memberId: string;
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number; readonly metadata: string | null }>;
  }>;
}

export interface OffsetCommitResponse {
  readonly topics: ReadonlyArray<{
    readonly name: string;
    readonly partitions: ReadonlyArray<{ readonly partition: number; readonly errorCode: number }>;
  }>;
}

export function decodeOffsetCommitRequest(r: Reader, version: number): OffsetCommitRequest {
  const groupId = r.string();
  const generationId = version >= 1 ? r.int32() : -1;
  const memberId = version >= 1 ? r.string() : '';
  if (version >= 2 && version <= 4) r.int64(); // retention time: offsets are kept for the broker's life
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      const partition = r.int32();
      const offset = r.int64();
      if (version === 1) r.int64(); // commit timestamp
      return { partition, offset, metadata: r.nullableString() };
    }),
  }));
  return { groupId, generationId, memberId, topics };
}

export function encodeOffsetCommitResponse(w: Writer, version: number, o: OffsetCommitResponse): void {
  if (version >= 3) w.int32(0);
  w.array(o.topics, (w, t) => w.string(t.name).array(t.partitions, (w, p) => w.int32(p.partition).int16(p.errorCode)));
}
