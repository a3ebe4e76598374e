// A single-node Kafka broker speaking the real wire protocol on a loopback TCP port,
// for tests: topics with several partitions kept in memory, record batches stored as
// received, long-polling fetches, and a group coordinator with rebalancing.
//
// Each connection's requests are answered one at a time, in order, as a real broker
// does (a JoinGroup or a waiting Fetch holds up the requests behind it on the same
// connection). A request that does not decode, or an API or version not offered by
// ApiVersions, closes that connection only.
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { FrameSplitter, responseFrame } from './framing.js';
import { GroupCoordinator, type GroupSnapshot } from './group-coordinator.js';
import { handle, type BrokerContext } from './handlers.js';
import { TopicStore, validTopicName } from './log.js';
import { Reader } from './wire.js';

/** Requests read ahead of the one being answered, per connection. */
const MAX_QUEUED_REQUESTS = 64;

export interface KafkaBrokerOptions {
  /** 0 (default): a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Create a topic when a client asks for its metadata (a real broker's default). Default true. */
  readonly autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic, or of one created with -1. Default 1. */
  readonly defaultPartitions?: number;
  /** Default 1,000 ms (a real broker: 6,000), so tests of session expiry stay short. */
  readonly minSessionTimeoutMs?: number;
  /** Largest record batch accepted (a real broker's `message.max.bytes`). Default 1,048,588. */
  readonly maxMessageBytes?: number;
  /** Told about each connection closed for a bad request. */
  readonly onConnectionError?: (err: Error) => void;
}

export interface KafkaBroker {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for a client's `brokers` / `bootstrap.servers`. */
  readonly bootstrap: string;
  /** Creates a topic (throws if the name is invalid or it exists). */
  createTopic(name: string, partitions: number): void;
  /** Next offset of each partition of a topic, or undefined if there is no such topic. */
  highWatermarks(topic: string): number[] | undefined;
  describeGroup(groupId: string): GroupSnapshot | undefined;
  /** Closes every connection and the listening socket. */
  stop(): Promise<void>;
}

export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const host = options.host ?? '127.0.0.1';
  const store = new TopicStore({ autoCreateTopics: options.autoCreateTopics ?? true, defaultPartitions: options.defaultPartitions ?? 1 });
  const groups = new GroupCoordinator({
    minSessionTimeoutMs: options.minSessionTimeoutMs ?? 1_000,
    maxSessionTimeoutMs: 1_800_000,
    partitionExists: (topic, partition) => store.partition(topic, partition) !== undefined,
  });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => serve(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const base = { nodeId: 1, host, port, clusterId: `bertha-test-${randomUUID()}`, store, groups, maxMessageBytes: options.maxMessageBytes ?? 1_048_588 };

  function serve(socket: Socket): void {
    sockets.add(socket);
    socket.setNoDelay(true);
    const closed = new AbortController();
    const ctx: BrokerContext = { ...base, signal: closed.signal };
    const splitter = new FrameSplitter();
    const queue: Buffer[] = [];
    let busy = false;
    const fail = (err: unknown) => {
      options.onConnectionError?.(err instanceof Error ? err : new Error(String(err)));
      socket.destroy();
    };
    const drain = async () => {
      busy = true;
      while (queue.length > 0 && !socket.destroyed) {
        const frame = queue.shift()!;
        if (queue.length < MAX_QUEUED_REQUESTS && socket.isPaused()) socket.resume();
        const header = new Reader(frame);
        // Request header v1: api key, api version, correlation id, client id.
        const apiKey = header.int16();
        const version = header.int16();
        const correlationId = header.int32();
        const clientId = header.nullableString() ?? '';
        const body = await handle({ apiKey, version, clientId, body: header }, ctx);
        if (body !== null && !socket.destroyed) {
          for (const b of responseFrame(correlationId, body.toBuffers())) socket.write(b);
        }
      }
      busy = false;
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        queue.push(...splitter.push(chunk));
      } catch (err) {
        fail(err);
        return;
      }
      // A client that sends faster than it is answered waits in TCP, not in our memory.
      if (queue.length >= MAX_QUEUED_REQUESTS) socket.pause();
      if (!busy) drain().catch(fail);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      closed.abort();
    });
  }

  return {
    host,
    port,
    bootstrap: `${host}:${port}`,
    createTopic(name, partitions) {
      if (!validTopicName(name)) throw new Error(`'${name}' is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249)`);
      if (!Number.isInteger(partitions) || partitions <= 0) throw new Error(`a topic needs a positive whole number of partitions, not ${partitions}`);
      if (!store.create(name, partitions)) throw new Error(`topic '${name}' exists already`);
    },
    highWatermarks: (topic) => store.get(topic)?.map((p) => p.highWatermark),
    describeGroup: (groupId) => groups.describe(groupId),
    async stop() {
      groups.close();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closing;
    },
  };
}
