/** A message for a queue: its bytes and, optionally, the ordering group it belongs to. */
export interface QueueMessage {
  readonly body: Uint8Array;
  /**
   * Ordering group (SQS MessageGroupId, GCP ordering key, Kafka message key,
   * Azure and Redis: none). Messages of one group keep their order where the
   * service orders (`semantics.ordering === 'group'`); without a group the
   * service does not order the message with any other.
   */
  readonly group?: string;
}

/** A message as received: what was sent, plus what the service told about this delivery. */
export interface Delivery extends QueueMessage {
  /** The service's id of the message (stable across redeliveries). */
  readonly id: string;
  /** 1 on the first delivery, more on redeliveries (where the service counts them; else 1). */
  readonly attempt: number;
}

/** A message on the queue whose body this library cannot decode (another producer wrote it). */
export interface Undecodable {
  readonly id: string;
  /** The body as the service returned it. */
  readonly raw: string | Uint8Array;
  /** Why it did not decode. */
  readonly reason: string;
}
