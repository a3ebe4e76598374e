import { BerthaError } from '../errors.js';

/** An address cannot be used: nothing listens there, it is taken, or it is malformed. */
export class AddressError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ADDRESS', message, options);
  }
}

/** The operating system refused a socket operation for a reason other than the address. */
export class TransportError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRANSPORT', message, options);
  }
}
