/**
 * The CCP transport: reliable, congestion-controlled message delivery over a
 * datagram Conn, with window and rate set by CCP algorithms (or native
 * Reno/Cubic). API summary (see the package README, "The transport Chunnel"):
 *
 * - `ccpTransport(opts?)`: Chunnel<Uint8Array, Uint8Array, 'ccp'> for stacks,
 *   e.g. `wrap(makeStack(serialize<T>(), ccpTransport()), udpConn)`. Its
 *   connections are `CcpTransportConn` (`sender`, `receiver`, `transportStats`).
 * - Options (`TransportOptions`): `mss` (1448), `initCwndPackets` (10),
 *   `minRtoUs`/`maxRtoUs`/`initialRtoUs`, `ackDelayUs` (1000), `ackEvery` (2),
 *   `maxSackBlocks`, `maxReorderPackets`, `onSample(s: TransportSample)`, and
 *   `cc`: `{ kind: 'ccp', algorithm?: 'reno', agentPath?, algorithms?,
 *   fallbackTimeoutUs?, ipcDelayUs?, host? }` (default: Reno, agent in this
 *   process) or `{ kind: 'native', algorithm: 'reno' | 'cubic' }`.
 * - `TransportSender` / `TransportReceiver`: the synchronous state machines
 *   (`write`/`writeBulk`/`onAck`, `onPacket(bytes, ce)`), on any `Clock`.
 * - `CcpHost` (`createCcpHost`, `inProcessCcpHost`): one datapath runtime
 *   shared by flows, linked to an in-process agent or a `ccp-agent` process;
 *   `setAgentReachable(false|true)` simulates the agent dying and returning.
 * - In virtual time: `simPath` and `simulateFlow` of @bertha/ccp-lab.
 */
export { TransportSender, type FlowEndpoints, type SenderControl, type SenderStats } from './sender.js';
export { TransportReceiver, type ReceiverStats } from './receiver.js';
export { NativeCongestionControl, type NativeAckInput, type NativeAlgorithm } from './native-cc.js';
export { CcpHost, createCcpHost, inProcessCcpHost, type CcpFlowHooks, type CcpHostOptions, type CcpHostStats } from './ccp-host.js';
export {
  DEFAULT_MSS,
  MAX_MSS,
  resolveOptions,
  type CcpControlOptions,
  type CongestionControlOptions,
  type NativeControlOptions,
  type ResolvedTransportOptions,
  type TransportOptions,
  type TransportSample,
} from './options.js';
export { ccpTransport, CcpTransportConn, type CcpTransportChunnel, type CcpTransportOptions, type CcpTransportStats } from './conn.js';
export { ACK_TYPE, DATA_TYPE, decodeAck, decodeData, encodeAck, encodeData, type AckFrame, type DataHeader } from './wire.js';
