/**
 * @bertha/ccp — the Congestion Control Plane: the datapath language, the
 * datapath runtime, libccp-compatible IPC, the agent and its algorithms, and
 * the CCP transport Chunnel. The simulator, link emulation, experiments and
 * plots are in @bertha/ccp-lab; compliance suites and test helpers in
 * @bertha/ccp/testing.
 */
export {
  CcpError,
  CheckError,
  InvalidProgramError,
  InvalidUpdateError,
  IpcDecodeError,
  LimitError,
  ParseError,
  type CcpErrorCode,
  type SourcePos,
} from './errors.js';
export type { CompiledProgram, EventSpec, Instruction, PrimitiveName, Reg } from './program.js';

// The datapath language
export { parse } from './lang/parser.js';
export { check, type CheckedProgram, type CompileWarning, type WarningCode } from './lang/checker.js';
export { compile, type CompiledProgramInfo, type ProgramVariable } from './lang/compiler.js';
export { disassemble } from './lang/disassemble.js';
export type { ProgramAst } from './lang/ast.js';

// The datapath runtime
export { Datapath, type DatapathCallbacks, type DatapathOptions, type DatapathRuntime, type DatapathStats, type Primitives } from './datapath/datapath.js';
export { ArithmeticFaultError, UnknownFlowError, UnknownProgramError } from './datapath/errors.js';

// IPC between datapaths and the agent
export type { CcpMessage, ChangeProgMsg, CloseMsg, CreateInfo, CreateMsg, InstallExprMsg, MeasureMsg, ReadyMsg, UpdateField, UpdateFieldsMsg } from './ipc/messages.js';
export { decodeMessages, encodeMessage, encodeMessages } from './ipc/codec.js';
export type { DatagramHandler, IpcChannel, IpcDatagram } from './ipc/channel.js';
export { createIpcPair } from './ipc/memory-channel.js';
export {
  DEFAULT_AGENT_PATH,
  IpcAddressError,
  openAgentSocket,
  openDatapathSocket,
  UnixDgramMissingError,
  type AgentSocketOptions,
  type DatapathSocketOptions,
} from './ipc/unix-channel.js';

// The agent and the algorithm API
export type { AggregateFlow, Algorithm, DatapathHandle, FieldUpdates, Flow } from './agent/algorithm.js';
export type { Endpoint, FlowInfo } from './agent/flow-info.js';
export { ReportError, type Report, type ReportBase, type ReportErrorReason, type ReportLayout } from './agent/report.js';
export { AgentCore, defaultLogger, type AgentCoreOptions, type AgentStats, type Logger, type LogLevel, type SendFn } from './agent/agent.js';
export { createAgent, type Agent, type AgentOptions } from './agent/create-agent.js';
export { fairShare, FairShareAggregate, type FairShareOptions } from './agent/aggregate.js';

// Algorithms
export {
  bbr,
  BbrFlow,
  builtinAlgorithms,
  copa,
  CopaFlow,
  cubic,
  CubicFlow,
  dctcp,
  DctcpFlow,
  GENERIC_PROGRAMS,
  installReporting,
  installSlowStart,
  measure,
  reno,
  RenoFlow,
  vegas,
  VegasFlow,
  WindowFlow,
  windowAlgorithm,
  type BbrMode,
  type BbrOptions,
  type BuiltinOptions,
  type CopaOptions,
  type CubicOptions,
  type DctcpOptions,
  type GenericField,
  type GenericProgram,
  type GenericReport,
  type Measurements,
  type RenoOptions,
  type ReportingOptions,
  type ReportMode,
  type SlowStartMode,
  type VegasOptions,
  type WindowOptions,
} from './algorithms/index.js';

// The transport Chunnel
export { realClock, type Clock, type RealClockOptions, type Timer } from './transport/clock.js';
export { Deque } from './transport/deque.js';
export { ccpTransport, CcpTransportConn, type CcpTransportChunnel, type CcpTransportOptions, type CcpTransportStats } from './transport/conn.js';
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
} from './transport/options.js';
export { PeerUnreachableError, UnacknowledgedDataError } from './transport/errors.js';
export { TransportSender, type FlowEndpoints, type SenderControl, type SenderStats } from './transport/sender.js';
export { TransportReceiver, type ReceiverStats } from './transport/receiver.js';
export { ackFrameBytes, dataFrameBytes, type AckFrame, type DataFrame, type PacketSink } from './transport/wire.js';
export type { NativeAlgorithm } from './transport/native-cc.js';
export type { HyStartOptions } from './algorithms/hystart.js';
export { CcpHost, createCcpHost, inProcessCcpHost, type CcpFlowHooks, type CcpHostOptions, type CcpHostStats } from './transport/ccp-host.js';
