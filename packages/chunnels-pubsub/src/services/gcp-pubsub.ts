/**
 * GCP Pub/Sub over @google-cloud/pubsub's generated v1 clients (Publish,
 * Pull, Acknowledge, ModifyAckDeadline: one RPC per call, no hidden
 * batching, streaming or lease management, so calls are counted exactly).
 * A receiver name is a subscription: receivers of one subscription compete,
 * each subscription gets every message (fan-out). A subscription created
 * with message ordering delivers each ordering key in order.
 */
import type { v1 } from '@google-cloud/pubsub';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueAuthError, QueueError, QueueNotFoundError, QueueUnavailableError } from '../errors.js';
import type { QueueLimits, QueueSemantics } from '../semantics.js';

const SERVICE = 'gcp-pubsub';

export const GCP_PUBSUB_LIMITS: QueueLimits = {
  maxMessageBytes: 10_000_000,
  maxBatchMessages: 1_000,
  maxBatchBytes: 10_000_000,
  maxReceiveMessages: 1_000,
  maxAckMessages: 1_000,
};

// gRPC status codes.
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const RETRYABLE = new Set([DEADLINE_EXCEEDED, 8, 10, 13, 14]);

/** Call options without gax's own retries (the connection retries and counts). A fresh object per call: gax mutates it. */
export const noRetry = (timeout?: number) => ({ maxRetries: 0, ...(timeout === undefined ? {} : { timeout }) });

export class GcpPubSubDriver implements QueueDriver<string> {
  readonly service = SERVICE;
  readonly limits = GCP_PUBSUB_LIMITS;
  readonly semantics: QueueSemantics;
  readonly leaseMs: number;
  readonly #pub: v1.PublisherClient;
  readonly #sub: v1.SubscriberClient;
  readonly #topic: string;
  readonly #subscription: string;

  constructor(pub: v1.PublisherClient, sub: v1.SubscriberClient, topic: string, subscription: string, ordering: boolean, leaseMs: number) {
    this.#pub = pub;
    this.#sub = sub;
    this.#topic = topic;
    this.#subscription = subscription;
    this.semantics = { ordering: ordering ? 'group' : 'none', fanOut: true };
    this.leaseMs = leaseMs;
  }

  size(msg: OutgoingMessage): number {
    return msg.body.byteLength + (msg.group === undefined ? 0 : Buffer.byteLength(msg.group));
  }

  async send(msgs: readonly OutgoingMessage[]): Promise<readonly string[]> {
    await this.#pub.publish(
      { topic: this.#topic, messages: msgs.map((m) => ({ data: m.body, ...(m.group === undefined ? {} : { orderingKey: m.group }) })) },
      noRetry(),
    );
    return [];
  }

  async receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<string>[]> {
    const call = this.#sub.pull({ subscription: this.#subscription, maxMessages: max }, noRetry(Math.max(waitMs, 100)));
    // gax's promise can be cancelled (its type does not say so).
    const cancel = () => (call as Partial<{ cancel(): void }>).cancel?.();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const [res] = await call;
      return (res.receivedMessages ?? []).map((r) => ({
        handle: r.ackId ?? '',
        id: r.message?.messageId ?? '',
        body: bytesOf(r.message?.data),
        group: r.message?.orderingKey === '' || r.message?.orderingKey == null ? undefined : r.message.orderingKey,
        attempt: Math.max(1, r.deliveryAttempt ?? 1),
      }));
    } catch (err) {
      // A pull that found nothing before its deadline, or one we cancelled, is an empty receive.
      const code = (err as { code?: number }).code;
      if (code === DEADLINE_EXCEEDED || (code === CANCELLED && signal.aborted)) return [];
      throw err;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  async ack(handles: readonly string[]): Promise<void> {
    await this.#sub.acknowledge({ subscription: this.#subscription, ackIds: [...handles] }, noRetry());
  }

  async extend(handles: readonly string[]): Promise<void> {
    await this.#deadline(handles, Math.ceil(this.leaseMs / 1000));
  }

  async release(handles: readonly string[]): Promise<void> {
    await this.#deadline(handles, 0);
  }

  async #deadline(handles: readonly string[], seconds: number): Promise<void> {
    await this.#sub.modifyAckDeadline({ subscription: this.#subscription, ackIds: [...handles], ackDeadlineSeconds: seconds }, noRetry());
  }

  classify(err: unknown): QueueError {
    return classifyGcpError(err, this.#subscription || this.#topic);
  }

  async close(): Promise<void> {
    await Promise.all([this.#pub.close(), this.#sub.close()]);
  }
}

/** A plain Uint8Array view of what gRPC decoded (a Buffer, or base64 text from the JSON fallback). */
function bytesOf(data: Uint8Array | string | null | undefined): Uint8Array {
  const b = typeof data === 'string' ? Buffer.from(data, 'base64') : (data ?? new Uint8Array(0));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function classifyGcpError(err: unknown, resource: string): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { code?: number; details?: string; message?: string };
  const msg = e.details ?? e.message ?? String(err);
  if (e.code === NOT_FOUND) return new QueueNotFoundError(SERVICE, resource, { cause: err });
  if (e.code === PERMISSION_DENIED || e.code === UNAUTHENTICATED) return new QueueAuthError(SERVICE, msg, { cause: err });
  if (e.code !== undefined && RETRYABLE.has(e.code)) return new QueueUnavailableError(SERVICE, msg, { cause: err });
  return new QueueError('ERR_QUEUE_SERVICE', SERVICE, msg, { cause: err });
}
