/**
 * The contract between `QueueConn` (batching, nagling, acknowledgement after
 * the application took a message, lease extension, retries, size checks,
 * counters: written once) and one queue service (written per service, in
 * `services/<name>.ts`). A driver makes exactly ONE service API call per
 * method call, so `QueueConn` counts calls by kind; it never retries (the
 * conn does, after `classify`), never sleeps, and holds no messages.
 */
import type { QueueError } from './errors.js';
import type { QueueLimits, QueueSemantics } from './semantics.js';

/** A message on its way to the service. */
export interface OutgoingMessage {
  /** Unique per message (a UUID): batch entry id, SQS FIFO deduplication id, … */
  readonly id: string;
  readonly body: Uint8Array;
  readonly group?: string;
}

/** A message as one receive call returned it. */
export interface IncomingMessage<H> {
  /** What `ack`, `extend` and `release` need (receipt handle, ack id, stream entry id, offset). */
  readonly handle: H;
  /** The service's message id. */
  readonly id: string;
  /** The bytes, or `undefined` when the service's body does not decode as ours (another producer wrote it). */
  readonly body: Uint8Array | undefined;
  /** With `body === undefined`: the body as received and why it did not decode. */
  readonly undecodable?: { readonly raw: string | Uint8Array; readonly reason: string };
  readonly group?: string;
  /** 1 on the first delivery; more on redeliveries where the service counts them. */
  readonly attempt: number;
}

export interface QueueDriver<H = unknown> {
  /** Short service name used in errors and counters: 'memory', 'sqs', 'azure-queue', 'gcp-pubsub', 'kafka', 'redis-streams'. */
  readonly service: string;
  readonly semantics: QueueSemantics;
  readonly limits: QueueLimits;
  /**
   * How long a received, unacknowledged message stays invisible to other
   * receivers (visibility timeout, ack deadline, claim idle time). `QueueConn`
   * extends held messages every `leaseMs / 3`; `Infinity` when the service
   * holds them for the consumer's session instead (Kafka).
   */
  readonly leaseMs: number;
  /**
   * Services without long polling (Azure Storage Queues): after a receive
   * that found nothing, `QueueConn` waits this long before the next. Absent:
   * `receive` itself waits up to `waitMs`.
   */
  readonly pollIntervalMs?: number;
  /** Size of `msg` as the service counts it against `limits` (e.g. base64 text plus attributes). */
  size(msg: OutgoingMessage): number;
  /**
   * One send call for `msgs` (at most `limits.maxBatchMessages` messages and
   * `limits.maxBatchBytes` bytes). Resolves with the ids the service did not
   * take for a retryable reason (partial batch failure), `[]` when it took them all.
   */
  send(msgs: readonly OutgoingMessage[], signal: AbortSignal): Promise<readonly string[]>;
  /**
   * One receive call for up to `max` messages; may wait (long poll) for
   * `waitMs` at most, and must return early (`[]` or what it has) when
   * `signal` aborts.
   */
  receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<H>[]>;
  /** One call acknowledging (deleting, committing) messages the application took. */
  ack(handles: readonly H[], signal: AbortSignal): Promise<void>;
  /** One call extending the lease of held messages by `leaseMs`; absent when `leaseMs` is `Infinity`. */
  extend?(handles: readonly H[], signal: AbortSignal): Promise<void>;
  /** One call making held, untaken messages visible to other receivers at once (on `close()`); absent: they come back when their lease runs out. */
  release?(handles: readonly H[], signal: AbortSignal): Promise<void>;
  /** Turns what a call threw into a typed error; `retryable` ones are retried with backoff. */
  classify(err: unknown): QueueError;
  /** Releases clients and sockets. No calls follow. */
  close(): Promise<void>;
}
