import type { WireMessage } from './wire.js';

/** Who a channel hands its negotiation messages to: a listener's session, or a request waiting for its answer. */
export interface ChannelHandler {
  /** A well-formed negotiation message arrived. */
  message(msg: WireMessage): void;
  /** The base connection ended: `err` says why, undefined when it was closed at this end. */
  end(err: Error | undefined): void;
}

/** The handler of a channel nobody listens to: messages are dropped. */
export const idle: ChannelHandler = { message: () => undefined, end: () => undefined };
