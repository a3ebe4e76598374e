import { BerthaError } from '@bertha/core';

/** Codes of the errors this package throws (besides core's, e.g. `ERR_MESSAGE_TOO_LARGE`). */
export type QueueErrorCode = 'ERR_QUEUE_UNAVAILABLE' | 'ERR_QUEUE_NOT_FOUND' | 'ERR_QUEUE_AUTH' | 'ERR_QUEUE_CAPABILITY' | 'ERR_QUEUE_SERVICE' | 'ERR_QUEUE_FRAME';

/** A queue service call failed. `retryable` says whether trying again later may succeed. */
export class QueueError extends BerthaError {
  readonly service: string;
  readonly retryable: boolean;
  constructor(code: QueueErrorCode, service: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(code, `${service}: ${message}`, options);
    this.service = service;
    this.retryable = options?.retryable ?? false;
  }
}

/** The service cannot be reached or is overloaded; calls are retried with backoff until `retry.giveUpMs`. */
export class QueueUnavailableError extends QueueError {
  constructor(service: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_UNAVAILABLE', service, `service unavailable (${detail}): check that it runs and the endpoint is right; calls are retried with backoff`, {
      ...options,
      retryable: true,
    });
  }
}

/** The queue (topic, subscription, stream) does not exist. */
export class QueueNotFoundError extends QueueError {
  constructor(service: string, what: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_NOT_FOUND', service, `${what} does not exist: create it first, or fix the name/URL`, options);
  }
}

/** The service refused our credentials. */
export class QueueAuthError extends QueueError {
  constructor(service: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_AUTH', service, `credentials refused (${detail}): check the access key / connection string / account`, options);
  }
}

/** A stack asked the service for something it cannot do (ordering, fan-out). */
export class QueueCapabilityError extends QueueError {
  constructor(service: string, message: string) {
    super('ERR_QUEUE_CAPABILITY', service, message);
  }
}
