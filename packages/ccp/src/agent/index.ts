/** The CCP agent: algorithm API, the runtime that drives datapaths, and aggregation. */
export type { AggregateFlow, Algorithm, DatapathHandle, FieldUpdates, Flow } from './algorithm.js';
export type { Endpoint, FlowInfo } from './flow-info.js';
export { ReportError, reportLayout, type Report, type ReportBase, type ReportErrorReason, type ReportLayout } from './report.js';
export { AgentCore, defaultLogger, type AgentCoreOptions, type AgentStats, type Logger, type LogLevel, type SendFn } from './agent.js';
export { createAgent, type Agent, type AgentOptions } from './create-agent.js';
export { compilePrograms, type DistinctProgram, type InstalledProgram, type ProgramTable } from './programs.js';
export { fairShare, FairShareAggregate, type FairShareOptions } from './aggregate.js';
export { flowInfo, makeReport, recordingHandle, type RecordingHandle } from './testing.js';
