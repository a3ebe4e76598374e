/**
 * Helpers for testing algorithms without a datapath: a handle that records
 * what a flow asks of its datapath, and reports built from plain values.
 */
import { CcpError } from '../errors.js';
import type { DatapathHandle, FieldUpdates } from './algorithm.js';
import type { FlowInfo } from './flow-info.js';
import { updateValue } from './agent.js';
import { reportLayout, type Report } from './report.js';

export function flowInfo(overrides: Partial<FlowInfo> = {}): FlowInfo {
  return {
    datapath: 'test',
    sid: 1,
    initCwnd: 10 * 1448,
    mss: 1448,
    src: { ip: 0x7f000001, port: 40000 },
    dst: { ip: 0x7f000001, port: 5000 },
    algorithm: '',
    ...overrides,
  };
}

/** A `DatapathHandle` that records calls; `cwnd`/`rate` hold the last values set. */
export interface RecordingHandle<P extends string = string> extends DatapathHandle<P> {
  readonly programs: Array<{ name: P; controls: Readonly<Record<string, number>> | undefined }>;
  readonly updates: FieldUpdates[];
  readonly cwnd: number | undefined;
  readonly rate: number | undefined;
}

export function recordingHandle<P extends string = string>(
  programs: Readonly<Record<P, string>>,
  info: FlowInfo = flowInfo(),
): RecordingHandle<P> {
  const h = {
    info,
    program: undefined as P | undefined,
    programs: [] as Array<{ name: P; controls: Readonly<Record<string, number>> | undefined }>,
    updates: [] as FieldUpdates[],
    cwnd: undefined as number | undefined,
    rate: undefined as number | undefined,
    setProgram(name: P, controls?: Readonly<Record<string, number>>): void {
      if (!Object.hasOwn(programs, name)) throw new CcpError('ERR_CCP_UNKNOWN_PROGRAM', `no program '${name}'`);
      h.program = name;
      h.programs.push({ name, controls });
    },
    updateField(u: FieldUpdates): void {
      // Normalised as the agent's real handle does before a value goes on the wire.
      const cwnd = u.cwnd === undefined ? undefined : updateValue('cwnd', u.cwnd);
      const rate = u.rate === undefined ? undefined : updateValue('rate', u.rate);
      h.updates.push({ ...u, ...(cwnd === undefined ? {} : { cwnd }), ...(rate === undefined ? {} : { rate }) });
      if (cwnd !== undefined) h.cwnd = cwnd;
      if (rate !== undefined) h.rate = rate;
    },
  };
  return h;
}

/** A report of program `program` with the given field values (in the given order). */
export function makeReport<F extends string = string>(
  program: string,
  values: Readonly<Record<string, number>>,
  options: { flow?: FlowInfo; time?: number; uid?: number } = {},
): Report<F> {
  const names = Object.keys(values);
  return reportLayout(program, options.uid ?? 1, names).make(
    names.map((n) => values[n] ?? 0),
    options.flow ?? flowInfo(),
    options.time ?? 0,
  ) as Report<F>;
}
