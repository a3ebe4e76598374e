import type { SocketAddress } from './transport.js';

/** `host:port`, with IPv6 hosts in brackets so the port stays unambiguous. */
export function formatHostPort(addr: SocketAddress): string {
  // Only an IPv6 literal has a colon (cheaper than isIPv6, on every connect).
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
