// ApiVersions (key 18), v0–v2. The request body is empty up to v2; a client that opens
// with a newer version (librdkafka sends v3) gets UNSUPPORTED_VERSION in the v0 shape with
// the supported list, and retries with a version from it (KIP-511).
import type { Writer } from '../wire.js';

export interface ApiVersionsResponse {
  readonly errorCode: number;
  readonly apiKeys: ReadonlyArray<{ readonly apiKey: number; readonly min: number; readonly max: number }>;
}

export function encodeApiVersionsResponse(w: Writer, version: number, r: ApiVersionsResponse): void {
  w.int16(r.errorCode).array(r.apiKeys, (w, k) => w.int16(k.apiKey).int16(k.min).int16(k.max));
  if (version >= 1) w.int32(0);
}
