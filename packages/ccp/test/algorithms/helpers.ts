import { flowInfo, makeReport, recordingHandle } from '../../src/agent/testing.js';
import type { Report } from '../../src/agent/report.js';
import type { FlowInfo } from '../../src/agent/flow-info.js';
import { GENERIC_PROGRAMS, type GenericField } from '../../src/algorithms/programs.js';

export const MSS = 1448;

/** A generic-program report; unspecified fields are 0 (minrtt: no sample). */
export function report(values: Partial<Record<GenericField, number>>, time = 0, program = 'rtt'): Report {
  return makeReport(
    program,
    { acked: 0, sacked: 0, loss: 0, timeout: 0, rtt: 0, minrtt: 0xffff_ffff, inflight: 0, ecn: 0, rate: 0, cwnd: 0, ...values },
    { time },
  );
}

export function handle(info: Partial<FlowInfo> = {}) {
  return recordingHandle(GENERIC_PROGRAMS, flowInfo({ mss: MSS, ...info }));
}
