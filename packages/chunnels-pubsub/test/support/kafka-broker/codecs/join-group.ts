// JoinGroup (key 11), v0–v5.
import type { Reader, Writer } from '../wire.js';

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** '' for a member joining for the first time. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: ReadonlyArray<{ readonly name: string; readonly metadata: Buffer }>;
}

export interface JoinGroupResponse {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  /** Every member with its metadata for the protocol chosen; the leader alone receives them. */
  readonly members: ReadonlyArray<{ readonly memberId: string; readonly groupInstanceId: string | null; readonly metadata: Buffer }>;
}

export function decodeJoinGroupRequest(r: Reader, version: number): JoinGroupRequest {
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  // v0 had no separate rebalance timeout: the session timeout bounded a rebalance.
  const rebalanceTimeoutMs = version >= 1 ? r.int32() : sessionTimeoutMs;
  const memberId = r.string();
  const groupInstanceId = version >= 5 ? r.nullableString() : null;
  const protocolType = r.string();
  // Protocol metadata is copied: the request frame it points into is not kept.
  const protocols = r.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) }));
  return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, groupInstanceId, protocolType, protocols };
}

export function encodeJoinGroupResponse(w: Writer, version: number, j: JoinGroupResponse): void {
  if (version >= 2) w.int32(0);
  w.int16(j.errorCode).int32(j.generationId).string(j.protocolName).string(j.leader).string(j.memberId);
  w.array(j.members, (w, m) => {
    w.string(m.memberId);
    if (version >= 5) w.string(m.groupInstanceId);
    w.bytes(m.metadata);
  });
}
