// The APIs this broker speaks, the versions it advertises, and the error codes it answers with.
// The ranges reach up to what kafkajs 2.x asks for, stop before the first flexible
// (tagged-field) version of each API — except ApiVersions v3, librdkafka's first
// request — and start where record batches (magic 2) begin for Produce and Fetch.

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
  CreateTopics: 19,
} as const;
export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

export const SUPPORTED_VERSIONS: ReadonlyMap<ApiKey, { readonly min: number; readonly max: number }> = new Map([
  [ApiKey.Produce, { min: 3, max: 7 }],
  [ApiKey.Fetch, { min: 4, max: 11 }],
  [ApiKey.ListOffsets, { min: 1, max: 3 }],
  [ApiKey.Metadata, { min: 0, max: 6 }],
  [ApiKey.OffsetCommit, { min: 0, max: 5 }],
  [ApiKey.OffsetFetch, { min: 1, max: 4 }],
  [ApiKey.FindCoordinator, { min: 0, max: 2 }],
  [ApiKey.JoinGroup, { min: 0, max: 5 }],
  [ApiKey.Heartbeat, { min: 0, max: 3 }],
  [ApiKey.LeaveGroup, { min: 0, max: 3 }],
  [ApiKey.SyncGroup, { min: 0, max: 3 }],
  [ApiKey.ApiVersions, { min: 0, max: 3 }],
  [ApiKey.CreateTopics, { min: 0, max: 3 }],
]);

export const ErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REQUEST: 42,
  MEMBER_ID_REQUIRED: 79,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
