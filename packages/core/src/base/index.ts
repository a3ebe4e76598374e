import { mem, type MemNetwork } from './mem.js';
import { tcp, type TcpOptions } from './tcp.js';
import type { MemAddress, PathAddress, SocketAddress, Transport, TransportKind } from './transport.js';
import { udp, type UdpOptions } from './udp.js';
import { unix, type UnixOptions } from './unix.js';

export { AddressError, TransportError } from './errors.js';
export { DATAGRAM_MAX_MESSAGE_SIZE } from './transport.js';
export { mem, memNetwork, MemNetwork, type MemFaults, type MemNetworkOptions, type MemNetworkStats } from './mem.js';
export { udp, type UdpOptions } from './udp.js';
export { tcp, type TcpOptions } from './tcp.js';
export { unix, type UnixOptions } from './unix.js';
/** Seeded PRNG of `memNetwork({ seed })`, exported so that seeded simulations (the CCP lab) share one generator. */
export { mulberry32 } from './prng.js';
export { DEFAULT_MAX_FRAME_SIZE, type StreamOptions } from './framing.js';

/** Options of each transport kind; for `mem`, the network to use (the process-wide one when omitted). */
export interface TransportOptions {
  udp: UdpOptions;
  tcp: TcpOptions;
  unix: UnixOptions;
  mem: MemNetwork;
}

/** Addresses of each transport kind. */
export interface TransportAddress {
  udp: SocketAddress;
  tcp: SocketAddress;
  unix: PathAddress;
  mem: MemAddress;
}

/** Picks a base connection by one argument: `transport('udp')`, `transport('mem', network)` … */
export function transport<K extends TransportKind>(kind: K, opts?: TransportOptions[K]): Transport<TransportAddress[K]>;
export function transport(kind: TransportKind, opts?: TransportOptions[TransportKind]): Transport<TransportAddress[TransportKind]> {
  switch (kind) {
    case 'udp':
      return udp(opts as UdpOptions | undefined);
    case 'tcp':
      return tcp(opts as TcpOptions | undefined);
    case 'unix':
      return unix(opts as UnixOptions | undefined);
    case 'mem':
      return mem(opts as MemNetwork | undefined);
  }
}
