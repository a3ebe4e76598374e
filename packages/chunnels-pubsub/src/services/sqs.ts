/**
 * AWS SQS over @aws-sdk/client-sqs. Bodies are text, so ours travel as base64
 * with a message attribute `bertha: b64`; a message without it (another
 * producer's) is reported as undecodable. FIFO queues order per message group
 * (a message without a group gets its own id as group: not ordered); standard
 * queues do not order. Receivers always compete (no fan-out: that is SNS).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueAuthError, QueueError, QueueNotFoundError, QueueUnavailableError } from '../errors.js';
import type { QueueLimits, QueueSemantics } from '../semantics.js';

const SERVICE = 'sqs';
const MARK = 'bertha';
const MARK_VALUE = 'b64';
// Attribute bytes as SQS counts them: name + data type + value.
const MARK_BYTES = MARK.length + 'String'.length + MARK_VALUE.length;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const SQS_LIMITS: QueueLimits = {
  maxMessageBytes: 262_144,
  maxBatchMessages: 10,
  maxBatchBytes: 262_144,
  maxReceiveMessages: 10,
  maxAckMessages: 10,
};

const markAttribute: Record<string, MessageAttributeValue> = { [MARK]: { DataType: 'String', StringValue: MARK_VALUE } };

export class SqsDriver implements QueueDriver<string> {
  readonly service = SERVICE;
  readonly limits = SQS_LIMITS;
  readonly semantics: QueueSemantics;
  readonly leaseMs: number;
  readonly #client: SQSClient;
  readonly #url: string;
  readonly #fifo: boolean;
  readonly #ownsClient: boolean;

  constructor(client: SQSClient, queueUrl: string, fifo: boolean, leaseMs: number, ownsClient: boolean) {
    this.#client = client;
    this.#url = queueUrl;
    this.#fifo = fifo;
    this.semantics = { ordering: fifo ? 'group' : 'none', fanOut: false };
    this.leaseMs = leaseMs;
    this.#ownsClient = ownsClient;
  }

  size(msg: OutgoingMessage): number {
    return Math.ceil(msg.body.byteLength / 3) * 4 + MARK_BYTES;
  }

  #entry(m: OutgoingMessage) {
    return {
      MessageBody: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('base64'),
      MessageAttributes: markAttribute,
      ...(this.#fifo ? { MessageGroupId: m.group ?? m.id, MessageDeduplicationId: m.id } : {}),
    };
  }

  async send(msgs: readonly OutgoingMessage[], signal: AbortSignal): Promise<readonly string[]> {
    if (msgs.length === 1) {
      const m = msgs[0] as OutgoingMessage;
      await this.#client.send(new SendMessageCommand({ QueueUrl: this.#url, ...this.#entry(m) }), { abortSignal: signal });
      return [];
    }
    const res = await this.#client.send(
      new SendMessageBatchCommand({ QueueUrl: this.#url, Entries: msgs.map((m, i) => ({ Id: String(i), ...this.#entry(m) })) }),
      { abortSignal: signal },
    );
    const retry: string[] = [];
    for (const f of res.Failed ?? []) {
      const m = msgs[Number(f.Id)];
      if (m === undefined) continue;
      if (f.SenderFault === true) throw new QueueError('ERR_QUEUE_SERVICE', SERVICE, `message refused: ${f.Code ?? ''} ${f.Message ?? ''}`.trim());
      retry.push(m.id);
    }
    return retry;
  }

  async receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<string>[]> {
    const res = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#url,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: Math.min(20, Math.ceil(waitMs / 1000)),
        VisibilityTimeout: Math.ceil(this.leaseMs / 1000),
        MessageAttributeNames: [MARK],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      }),
      { abortSignal: signal },
    );
    return (res.Messages ?? []).map((m) => this.#decode(m));
  }

  #decode(m: Message): IncomingMessage<string> {
    const raw = m.Body ?? '';
    const ours = m.MessageAttributes?.[MARK]?.StringValue === MARK_VALUE;
    const ok = ours && BASE64.test(raw) && raw.length % 4 === 0;
    const group = m.Attributes?.MessageGroupId;
    return {
      handle: m.ReceiptHandle ?? '',
      id: m.MessageId ?? '',
      body: ok ? new Uint8Array(Buffer.from(raw, 'base64')) : undefined,
      ...(ok ? {} : { undecodable: { raw, reason: ours ? 'body is not base64' : `no '${MARK}' attribute: another producer wrote it` } }),
      // A message sent without a group carries its own id as group on a FIFO queue.
      group: group === undefined || group === m.MessageId || !this.#fifo ? undefined : group,
      attempt: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    };
  }

  async ack(handles: readonly string[], signal: AbortSignal): Promise<void> {
    if (handles.length === 1) {
      await this.#client.send(new DeleteMessageCommand({ QueueUrl: this.#url, ReceiptHandle: handles[0] }), { abortSignal: signal });
      return;
    }
    // Failed entries are expired receipt handles: those messages come back and are acknowledged then.
    await this.#client.send(
      new DeleteMessageBatchCommand({ QueueUrl: this.#url, Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) }),
      { abortSignal: signal },
    );
  }

  extend(handles: readonly string[], signal: AbortSignal): Promise<void> {
    return this.#visibility(handles, Math.ceil(this.leaseMs / 1000), signal);
  }

  release(handles: readonly string[], signal: AbortSignal): Promise<void> {
    return this.#visibility(handles, 0, signal);
  }

  async #visibility(handles: readonly string[], seconds: number, signal: AbortSignal): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.#url,
        Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: seconds })),
      }),
      { abortSignal: signal },
    );
  }

  classify(err: unknown): QueueError {
    return classifySqsError(err, this.#url);
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }
}

const NOT_FOUND = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue']);
const AUTH = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'AccessDenied', 'AccessDeniedException', 'InvalidSecurity', 'MissingAuthenticationToken']);
const BUSY = new Set(['ThrottlingException', 'RequestThrottled', 'ServiceUnavailable', 'InternalError', 'KmsThrottled', 'TimeoutError']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function classifySqsError(err: unknown, queueUrl: string): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (NOT_FOUND.has(name)) return new QueueNotFoundError(SERVICE, `queue ${queueUrl}`, { cause: err });
  if (AUTH.has(name) || status === 403) return new QueueAuthError(SERVICE, `${name}: ${e.message ?? ''}`, { cause: err });
  if (BUSY.has(name) || NETWORK.has(e.code ?? '') || NETWORK.has(name) || (status !== undefined && status >= 500)) {
    return new QueueUnavailableError(SERVICE, `${e.code ?? name}: ${e.message ?? ''}`.trim(), { cause: err });
  }
  return new QueueError('ERR_QUEUE_SERVICE', SERVICE, `${name}: ${e.message ?? String(err)}`, { cause: err });
}
