import { isIPv6 } from 'node:net';
import type { SocketAddress } from './transport.js';

/** `host:port`, with IPv6 hosts in brackets so the port stays unambiguous. */
export function formatHostPort(addr: SocketAddress): string {
  return isIPv6(addr.host) ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
