export * from './messages.js';
export { decodeMessages, encodeMessage, encodeMessages } from './codec.js';
export type { DatagramHandler, IpcChannel, IpcDatagram } from './channel.js';
export { createIpcPair } from './memory-channel.js';
export {
  type AgentSocketOptions,
  DEFAULT_AGENT_PATH,
  type DatapathSocketOptions,
  IpcAddressError,
  openAgentSocket,
  openDatapathSocket,
  UnixDgramMissingError,
} from './unix-channel.js';
