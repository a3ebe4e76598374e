// What the broker does for each request: decode with the API's codec, act on the
// topic store or the group coordinator, and return the response body (or null when the
// client expects none: Produce with acks=0).
import { ApiKey, ErrorCode, SUPPORTED_VERSIONS } from './api.js';
import { encodeApiVersionsResponse } from './codecs/api-versions.js';
import { decodeCreateTopicsRequest, encodeCreateTopicsResponse } from './codecs/create-topics.js';
import { decodeFetchRequest, encodeFetchResponse, type FetchRequest, type FetchResponse } from './codecs/fetch.js';
import { decodeFindCoordinatorRequest, encodeFindCoordinatorResponse } from './codecs/find-coordinator.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse } from './codecs/heartbeat.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse } from './codecs/join-group.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse } from './codecs/leave-group.js';
import { decodeListOffsetsRequest, EARLIEST_TIMESTAMP, encodeListOffsetsResponse, LATEST_TIMESTAMP } from './codecs/list-offsets.js';
import { decodeMetadataRequest, encodeMetadataResponse } from './codecs/metadata.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse } from './codecs/offset-commit.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse } from './codecs/offset-fetch.js';
import { decodeProduceRequest, encodeProduceResponse, type ProducePartitionResult } from './codecs/produce.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse } from './codecs/sync-group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { validTopicName, type TopicStore } from './log.js';
import { InvalidBatchError, splitBatches } from './record-batch.js';
import { Writer, type Reader } from './wire.js';

export interface BrokerContext {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  readonly store: TopicStore;
  readonly groups: GroupCoordinator;
  /** Largest record batch a Produce may carry (a real broker's `message.max.bytes`). */
  readonly maxMessageBytes: number;
  /** Aborted when the request's connection closes or the broker stops: ends a waiting fetch. */
  readonly signal: AbortSignal;
}

export interface Request {
  readonly apiKey: number;
  readonly version: number;
  readonly clientId: string;
  readonly body: Reader;
}

type Handler = (req: Request, ctx: BrokerContext) => Promise<Writer | null>;

const reply = (encode: (w: Writer) => void): Writer => {
  const w = new Writer();
  encode(w);
  return w;
};

const handlers: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.ApiVersions, async (req) => apiVersions(req.version, ErrorCode.NONE)],

  [
    ApiKey.Metadata,
    async ({ body, version }, ctx) => {
      const req = decodeMetadataRequest(body, version);
      const names = req.topics ?? ctx.store.names();
      const topics = names.map((name) => {
        if (ctx.store.get(name) === undefined) {
          if (!validTopicName(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: 0 };
          if (!(req.allowAutoTopicCreation && ctx.store.autoCreate)) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: 0 };
          ctx.store.create(name);
        }
        return { errorCode: ErrorCode.NONE, name, partitions: ctx.store.get(name)!.length };
      });
      const broker = { nodeId: ctx.nodeId, host: ctx.host, port: ctx.port };
      return reply((w) => encodeMetadataResponse(w, version, { broker, clusterId: ctx.clusterId, topics }));
    },
  ],

  [
    ApiKey.CreateTopics,
    async ({ body, version }, ctx) => {
      const req = decodeCreateTopicsRequest(body, version);
      const topics = req.topics.map((t) => {
        const result = (errorCode: number, errorMessage: string | null = null) => ({ name: t.name, errorCode, errorMessage });
        const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions === -1 ? undefined : t.numPartitions;
        if (!validTopicName(t.name)) return result(ErrorCode.INVALID_TOPIC_EXCEPTION, `'${t.name}' is not a valid topic name`);
        if (ctx.store.get(t.name) !== undefined) return result(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
        if (partitions !== undefined && (partitions <= 0 || partitions > 10_000)) return result(ErrorCode.INVALID_PARTITIONS, `${partitions} partitions`);
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          return result(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${t.replicationFactor}: this broker is the only one (use 1)`);
        }
        if (!req.validateOnly) ctx.store.create(t.name, partitions);
        return result(ErrorCode.NONE);
      });
      return reply((w) => encodeCreateTopicsResponse(w, version, { topics }));
    },
  ],

  [
    ApiKey.Produce,
    async ({ body, version }, ctx) => {
      const req = decodeProduceRequest(body, version);
      let appended = false;
      const topics = req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p): ProducePartitionResult => {
          const result = (errorCode: number, baseOffset = -1) => ({ partition: p.partition, errorCode, baseOffset, logStartOffset: -1 });
          const log = ctx.store.partition(t.name, p.partition);
          if (log === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          if (p.records === null) return result(ErrorCode.CORRUPT_MESSAGE);
          let batches: Buffer[];
          try {
            batches = splitBatches(p.records);
          } catch (err) {
            if (err instanceof InvalidBatchError) return result(ErrorCode.CORRUPT_MESSAGE);
            throw err;
          }
          if (batches.some((b) => b.length > ctx.maxMessageBytes)) return result(ErrorCode.MESSAGE_TOO_LARGE);
          appended = true;
          return { ...result(ErrorCode.NONE, log.append(batches)), logStartOffset: log.logStartOffset };
        }),
      }));
      if (appended) ctx.store.appended();
      if (req.acks === 0) return null;
      return reply((w) => encodeProduceResponse(w, version, { topics }));
    },
  ],

  [
    ApiKey.Fetch,
    async ({ body, version }, ctx) => {
      const req = decodeFetchRequest(body, version);
      const response = await fetchWhenReady(req, ctx);
      return reply((w) => encodeFetchResponse(w, version, response));
    },
  ],

  [
    ApiKey.ListOffsets,
    async ({ body, version }, ctx) => {
      const req = decodeListOffsetsRequest(body, version);
      const topics = req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map(({ partition, timestamp }) => {
          const log = ctx.store.partition(t.name, partition);
          if (log === undefined) return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1, offset: -1 };
          const offset =
            timestamp === LATEST_TIMESTAMP ? log.highWatermark : timestamp === EARLIEST_TIMESTAMP ? log.logStartOffset : log.offsetForTimestamp(timestamp);
          return { partition, errorCode: ErrorCode.NONE, timestamp: -1, offset };
        }),
      }));
      return reply((w) => encodeListOffsetsResponse(w, version, { topics }));
    },
  ],

  [
    ApiKey.FindCoordinator,
    async ({ body, version }, ctx) => {
      const req = decodeFindCoordinatorRequest(body, version);
      // Transactions (key type 1) are not coordinated here.
      const errorCode = req.keyType === 0 ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST;
      const errorMessage = errorCode === ErrorCode.NONE ? null : 'this test broker coordinates consumer groups only';
      return reply((w) => encodeFindCoordinatorResponse(w, version, { errorCode, errorMessage, nodeId: ctx.nodeId, host: ctx.host, port: ctx.port }));
    },
  ],

  [
    ApiKey.JoinGroup,
    async ({ body, version, clientId }, ctx) => {
      const res = await ctx.groups.join(decodeJoinGroupRequest(body, version), version, clientId);
      return reply((w) => encodeJoinGroupResponse(w, version, res));
    },
  ],

  [
    ApiKey.SyncGroup,
    async ({ body, version }, ctx) => {
      const res = await ctx.groups.sync(decodeSyncGroupRequest(body, version));
      return reply((w) => encodeSyncGroupResponse(w, version, res));
    },
  ],

  [
    ApiKey.Heartbeat,
    async ({ body, version }, ctx) => {
      const req = decodeHeartbeatRequest(body, version);
      const errorCode = ctx.groups.heartbeat(req.groupId, req.generationId, req.memberId);
      return reply((w) => encodeHeartbeatResponse(w, version, errorCode));
    },
  ],

  [
    ApiKey.LeaveGroup,
    async ({ body, version }, ctx) => {
      const req = decodeLeaveGroupRequest(body, version);
      const members = req.memberIds.map((memberId) => ({ memberId, errorCode: ctx.groups.leave(req.groupId, memberId) }));
      // Up to v2 the one member's error is the response's error; from v3 each member has its own.
      const errorCode = version < 3 ? (members[0]?.errorCode ?? ErrorCode.NONE) : ErrorCode.NONE;
      return reply((w) => encodeLeaveGroupResponse(w, version, { errorCode, members }));
    },
  ],

  [
    ApiKey.OffsetCommit,
    async ({ body, version }, ctx) => {
      const res = ctx.groups.commit(decodeOffsetCommitRequest(body, version));
      return reply((w) => encodeOffsetCommitResponse(w, version, res));
    },
  ],

  [
    ApiKey.OffsetFetch,
    async ({ body, version }, ctx) => {
      const res = ctx.groups.fetchOffsets(decodeOffsetFetchRequest(body, version));
      return reply((w) => encodeOffsetFetchResponse(w, version, res));
    },
  ],
]);

/** The ApiVersions answer; `version` 0 is also the shape of the refusal of a newer ApiVersions (KIP-511). */
function apiVersions(version: number, errorCode: number): Writer {
  const apiKeys = [...SUPPORTED_VERSIONS].map(([apiKey, v]) => ({ apiKey, min: v.min, max: v.max }));
  return reply((w) => encodeApiVersionsResponse(w, version, { errorCode, apiKeys }));
}

export class UnsupportedRequestError extends Error {
  readonly code = 'ERR_KAFKA_UNSUPPORTED_REQUEST';
}

/** Answers one request. Throws MalformedRequestError or UnsupportedRequestError: the caller closes the connection. */
export async function handle(req: Request, ctx: BrokerContext): Promise<Writer | null> {
  const range = SUPPORTED_VERSIONS.get(req.apiKey as ApiKey);
  const handler = handlers.get(req.apiKey);
  if (range === undefined || handler === undefined) throw new UnsupportedRequestError(`API key ${req.apiKey} is not supported`);
  if (req.version < range.min || req.version > range.max) {
    if (req.apiKey === ApiKey.ApiVersions) return apiVersions(0, ErrorCode.UNSUPPORTED_VERSION);
    throw new UnsupportedRequestError(`API key ${req.apiKey} version ${req.version} is outside ${range.min}..${range.max}`);
  }
  return handler(req, ctx);
}

/** Reads the partitions a fetch asks for; waits (up to maxWaitMs) until minBytes are there. */
async function fetchWhenReady(req: FetchRequest, ctx: BrokerContext): Promise<FetchResponse> {
  const deadline = Date.now() + req.maxWaitMs;
  for (;;) {
    const { response, bytes } = readFetch(req, ctx);
    const errors = response.topics.some((t) => t.partitions.some((p) => p.errorCode !== ErrorCode.NONE));
    const wait = deadline - Date.now();
    if (bytes >= req.minBytes || errors || wait <= 0 || ctx.signal.aborted) return response;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        ctx.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      const stop = ctx.store.onAppend(done);
      ctx.signal.addEventListener('abort', done);
    });
  }
}

function readFetch(req: FetchRequest, ctx: BrokerContext): { response: FetchResponse; bytes: number } {
  let budget = req.maxBytes;
  let bytes = 0;
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      const log = ctx.store.partition(t.name, p.partition);
      const result = (errorCode: number, batches: Buffer[] = []) => ({
        partition: p.partition,
        errorCode,
        highWatermark: log?.highWatermark ?? -1,
        logStartOffset: log?.logStartOffset ?? -1,
        batches,
      });
      if (log === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.highWatermark) return result(ErrorCode.OFFSET_OUT_OF_RANGE);
      // The first partition with data gets at least one batch, whatever the budgets (KIP-74).
      const batches = log.read(p.fetchOffset, Math.min(p.maxBytes, budget), bytes === 0);
      const size = batches.reduce((n, b) => n + b.length, 0);
      bytes += size;
      budget -= size;
      return result(ErrorCode.NONE, batches);
    }),
  }));
  return { response: { topics }, bytes };
}
