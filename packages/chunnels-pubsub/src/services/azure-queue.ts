/**
 * Azure Storage Queues over @azure/storage-queue. Message text is ours when
 * it is `bertha:` + base64 of the bytes; anything else (another producer's)
 * is reported as undecodable. No batch calls (one message per send, delete
 * and update), no long polling (receive polls every `pollIntervalMs`), no
 * ordering, no fan-out. An update (lease extension) changes the message's
 * pop receipt: the handle is updated in place.
 */
import type { QueueClient, QueueReceiveMessageResponse } from '@azure/storage-queue';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueAuthError, QueueError, QueueNotFoundError, QueueUnavailableError } from '../errors.js';
import type { QueueLimits } from '../semantics.js';

const SERVICE = 'azure-queue';
const PREFIX = 'bertha:';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const AZURE_QUEUE_LIMITS: QueueLimits = {
  maxMessageBytes: 65_536,
  maxBatchMessages: 1,
  maxBatchBytes: 65_536,
  maxReceiveMessages: 32,
  maxAckMessages: 1,
};

/** A received message: its id and the pop receipt of its latest receive or update. */
export interface AzureHandle {
  readonly id: string;
  pop: string;
}

type Received = QueueReceiveMessageResponse['receivedMessageItems'][number];

export class AzureQueueDriver implements QueueDriver<AzureHandle> {
  readonly service = SERVICE;
  readonly semantics = { ordering: 'none', fanOut: false } as const;
  readonly limits = AZURE_QUEUE_LIMITS;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly #queue: QueueClient;

  constructor(queue: QueueClient, leaseMs: number, pollIntervalMs: number) {
    this.#queue = queue;
    this.leaseMs = leaseMs;
    this.pollIntervalMs = pollIntervalMs;
  }

  size(msg: OutgoingMessage): number {
    return PREFIX.length + Math.ceil(msg.body.byteLength / 3) * 4;
  }

  async send(msgs: readonly OutgoingMessage[], signal: AbortSignal): Promise<readonly string[]> {
    for (const m of msgs) {
      await this.#queue.sendMessage(PREFIX + Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('base64'), { abortSignal: signal });
    }
    return [];
  }

  async receive(max: number, _waitMs: number, signal: AbortSignal): Promise<IncomingMessage<AzureHandle>[]> {
    const res = await this.#queue.receiveMessages({ numberOfMessages: max, visibilityTimeout: Math.ceil(this.leaseMs / 1000), abortSignal: signal });
    return res.receivedMessageItems.map((m) => decode(m));
  }

  async ack(handles: readonly AzureHandle[], signal: AbortSignal): Promise<void> {
    for (const h of handles) await this.#queue.deleteMessage(h.id, h.pop, { abortSignal: signal });
  }

  async extend(handles: readonly AzureHandle[], signal: AbortSignal): Promise<void> {
    await this.#visibility(handles, Math.ceil(this.leaseMs / 1000), signal);
  }

  async release(handles: readonly AzureHandle[], signal: AbortSignal): Promise<void> {
    await this.#visibility(handles, 0, signal);
  }

  async #visibility(handles: readonly AzureHandle[], seconds: number, signal: AbortSignal): Promise<void> {
    for (const h of handles) {
      const res = await this.#queue.updateMessage(h.id, h.pop, undefined, seconds, { abortSignal: signal });
      if (res.popReceipt !== undefined) h.pop = res.popReceipt;
    }
  }

  classify(err: unknown): QueueError {
    return classifyAzureError(err, this.#queue.name);
  }

  async close(): Promise<void> {}
}

function decode(m: Received): IncomingMessage<AzureHandle> {
  const text = m.messageText;
  const b64 = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : undefined;
  const ok = b64 !== undefined && b64.length % 4 === 0 && BASE64.test(b64);
  return {
    handle: { id: m.messageId, pop: m.popReceipt },
    id: m.messageId,
    body: ok ? new Uint8Array(Buffer.from(b64, 'base64')) : undefined,
    ...(ok ? {} : { undecodable: { raw: text, reason: b64 === undefined ? `text does not start with '${PREFIX}': another producer wrote it` : 'body is not base64' } }),
    attempt: m.dequeueCount,
  };
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR']);

export function classifyAzureError(err: unknown, queueName: string): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; details?: { errorCode?: string } };
  const code = e.details?.errorCode ?? e.code ?? '';
  const msg = `${code}: ${e.message ?? String(err)}`;
  if (e.statusCode === 404 || code === 'QueueNotFound') return new QueueNotFoundError(SERVICE, `queue '${queueName}'`, { cause: err });
  if (e.statusCode === 403 || code.startsWith('Authentication') || code.startsWith('Authorization')) return new QueueAuthError(SERVICE, msg, { cause: err });
  if (NETWORK.has(code) || (e.statusCode !== undefined && (e.statusCode >= 500 || e.statusCode === 429)) || e.statusCode === undefined) {
    return new QueueUnavailableError(SERVICE, msg, { cause: err });
  }
  return new QueueError('ERR_QUEUE_SERVICE', SERVICE, msg, { cause: err });
}
