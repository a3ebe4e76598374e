import { channel } from 'node:diagnostics_channel';

/** What a Chunnel of this package chose for one connection, published on `bertha:chunnels-tls:path`. */
export interface PathEvent {
  readonly chunnel: 'tls' | 'maybe-local' | 'tls+maybe-local';
  readonly role: 'client' | 'server';
  readonly peer: string | undefined;
  /** The connection moved to the peer's Unix socket (maybe-local, fused). */
  readonly local: boolean;
  /** This Chunnel encrypts the connection. */
  readonly encrypted: boolean;
}

/**
 * Subscribe with `diagnostics_channel.subscribe('bertha:chunnels-tls:path', fn)`
 * to see, per connection, whether it went local and whether it is
 * encrypted; nothing is built when nobody listens.
 */
export const pathChannel = channel('bertha:chunnels-tls:path');

export function publishPath(event: () => PathEvent): void {
  if (pathChannel.hasSubscribers) pathChannel.publish(event());
}
