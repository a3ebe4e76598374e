// FindCoordinator (key 10), v0–v2. This single broker coordinates every group.
import type { Reader, Writer } from '../wire.js';

export interface FindCoordinatorRequest {
  readonly key: string;
  /** 0: group, 1: transaction. */
  readonly keyType: number;
}

export interface FindCoordinatorResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export function decodeFindCoordinatorRequest(r: Reader, version: number): FindCoordinatorRequest {
  const key = r.string();
  return { key, keyType: version >= 1 ? r.int8() : 0 };
}

export function encodeFindCoordinatorResponse(w: Writer, version: number, f: FindCoordinatorResponse): void {
  if (version >= 1) w.int32(0);
  w.int16(f.errorCode);
  if (version >= 1) w.string(f.errorMessage);
  w.int32(f.nodeId).string(f.host).int32(f.port);
}
