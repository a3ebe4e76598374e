/**
 * @bertha/core — Chunnels, connections, typed stacks, `select`, optimization
 * passes, base connections and generic Chunnels. The base-connection
 * compliance suite is @bertha/core/testing.
 */
export {
  AbortError,
  BerthaError,
  ConnClosedError,
  DecodeError,
  InvalidArgumentError,
  MessageTooLargeError,
  StackError,
  throwIfAborted,
  TimeoutError,
  type ErrorCode,
} from './errors.js';
export type { CallOptions, Conn, ConnStats } from './conn/conn.js';
export { MessageQueue, type QueueEnd, type QueueSink } from './conn/message-queue.js';
export { AbstractConn, iterateConn, untilClosed } from './conn/abstract-conn.js';
export { MappedConn, type Codec } from './conn/map-conn.js';
export { oneSided, twoSided, type Capability, type OneSidedCapability, type TwoSidedCapability } from './capability.js';
export type { AnyChunnel, Chunnel, InnerOf, NameOf, OuterOf, PickedInfo, Role, WrapContext } from './chunnel.js';

// Base connections
export type { BaseConn, Listener, ListenerStats, MemAddress, PathAddress, SocketAddress, Transport, TransportKind } from './base/transport.js';
export {
  AddressError,
  DATAGRAM_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  mem,
  memNetwork,
  MemNetwork,
  mulberry32,
  tcp,
  transport,
  TransportError,
  udp,
  unix,
  type MemFaults,
  type MemNetworkOptions,
  type MemNetworkStats,
  type StreamOptions,
  type TcpOptions,
  type TransportAddress,
  type TransportOptions,
  type UdpOptions,
  type UnixOptions,
} from './base/index.js';
// For Chunnels that carry messages inside a byte stream of their own (chunnels-tls frames inside TLS).
export { FrameReader } from './base/framing.js';
export { drained } from './base/drained.js';

// Diagnostics: node:diagnostics_channel messages, and the `DEBUG=bertha:*` logger that prints them
export {
  CONN_CLOSE,
  CONN_OPEN,
  type BaseConnOpenMessage,
  type ConnCloseMessage,
  type ConnOpenMessage,
  type StackOpenMessage,
} from './diagnostics/conn-channels.js';
export { debugChannels, type ChannelFormats } from './diagnostics/debug-log.js';
import './diagnostics/conn-log.js';

// Stacks, select, passes
export {
  applyPass,
  describeStack,
  describeVariant,
  incompatibilities,
  isSelect,
  makeStack,
  MAX_VARIANTS,
  pickVariants,
  rewriteElems,
  Select,
  select,
  Stack,
  subst,
  variants,
  wrap,
  wrapChunnels,
  type AnySelect,
  type CapabilitySide,
  type CheckPass,
  type CheckStack,
  type ChunnelOffer,
  type Choice,
  type ElemInner,
  type ElemName,
  type ElemOuter,
  type Equals,
  type HasSelect,
  type Incompatibility,
  type NoSelectAllowed,
  type Pass,
  type PassMismatch,
  type Pick,
  type PickOutcome,
  type Preference,
  type Rewrite,
  type SelectDecision,
  type SelectMismatch,
  type SelectOptions,
  type ShowType,
  type StackBottom,
  type StackElem,
  type StackFits,
  type StackMismatch,
  type StackTop,
  type Variant,
  type VariantOffer,
  type Wildcard,
} from './stack/index.js';

// Generic Chunnels
export type { ChunnelWithConn } from './chunnels/chunnel-with-conn.js';
export { serialize, type SerializeChunnel, type SerializeOptions, type MsgpackOptions } from './chunnels/serialize.js';
export { base64, type Base64Chunnel } from './chunnels/base64.js';
export { noop } from './chunnels/noop.js';
export { reliable, ReliableConn, type ReliableChunnel, type ReliableOptions, type ReliableStats } from './chunnels/reliable.js';
export { RttEstimator, type RttEstimatorOptions } from './chunnels/rtt-estimator.js';
export { ordered, OrderedConn, type OrderedChunnel, type OrderedOptions, type OrderedStats, type GapThreshold } from './chunnels/ordered.js';
export { atMostOnce, AtMostOnceConn, type AtMostOnceChunnel, type AtMostOnceOptions, type AtMostOnceStats } from './chunnels/at-most-once.js';
export { batching, BatchingConn, type BatchingChunnel, type BatchingOptions, type BatchStats } from './chunnels/batching.js';
