/**
 * @bertha/ccp/testing — the compliance suite every congestion-control
 * algorithm passes, and helpers to drive an algorithm without a datapath or to
 * check a transport delivered messages intact. The suite runs under vitest (an
 * optional peer dependency).
 */
export { describeAlgorithmCompliance, type ComplianceSubject, type CongestionSignal } from './testing/algorithm-compliance.js';
export { flowInfo, makeReport, recordingHandle, type RecordingHandle } from './agent/testing.js';
export { firstMismatch, makeMessages } from './testing/messages.js';
