import { channel } from 'node:diagnostics_channel';
import { debugChannels } from '@bertha/core';

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
const PATH = 'bertha:chunnels-tls:path';
export const pathChannel = channel(PATH);

export function publishPath(event: () => PathEvent): void {
  if (pathChannel.hasSubscribers) pathChannel.publish(event());
}

/** `DEBUG=bertha:chunnels-tls`: one line per connection's path. */
debugChannels('bertha:chunnels-tls', {
  [PATH]: (e: PathEvent) =>
    `${e.chunnel} ${e.role} ${e.peer ?? '(no peer)'}: ${e.local ? 'local (Unix socket)' : 'not local'}, ${e.encrypted ? 'encrypted' : 'not encrypted'}`,
});
