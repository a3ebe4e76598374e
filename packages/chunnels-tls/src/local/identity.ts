import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Which machine this process is on, as the local path understands it: the
 * host name plus, on Linux, the network namespace (`net:[4026531840]`). Two
 * processes in different network namespaces (containers, `ip netns`) share a
 * kernel and could reach each other's Unix sockets, but are separate hosts on
 * the network: they must talk over the network, encrypted.
 */
export const machineId: string = (() => {
  let netns = '';
  try {
    netns = readlinkSync('/proc/self/ns/net');
  } catch {
    // Not Linux: the host name alone.
  }
  return `${hostname()}/${netns}`;
})();
