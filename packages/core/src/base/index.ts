export { AddressError, TransportError } from './errors.js';
export { mem, memNetwork, MemNetwork, DATAGRAM_MAX_MESSAGE_SIZE, type MemFaults, type MemNetworkOptions, type MemNetworkStats } from './mem.js';
