/** Built-in congestion-control algorithms. */
import type { Algorithm } from '../agent/algorithm.js';
import { fairShare } from '../agent/aggregate.js';
import { bbr } from './bbr.js';
import { copa } from './copa.js';
import { cubic } from './cubic.js';
import { dctcp } from './dctcp.js';
import { reno } from './reno.js';
import { vegas } from './vegas.js';
import type { ReportMode, SlowStartMode } from './programs.js';

export { reno, RenoFlow, type RenoOptions } from './reno.js';
export { cubic, CubicFlow, type CubicOptions } from './cubic.js';
export { vegas, VegasFlow, type VegasOptions } from './vegas.js';
export { dctcp, DctcpFlow, type DctcpOptions } from './dctcp.js';
export { bbr, BbrFlow, PROBE_BW_GAINS, type BbrMode, type BbrOptions } from './bbr.js';
export { copa, CopaFlow, type CopaOptions } from './copa.js';
export { WindowFlow, windowAlgorithm, type WindowOptions } from './window.js';
export {
  GENERIC_PROGRAMS,
  installReporting,
  installSlowStart,
  measure,
  type GenericField,
  type GenericProgram,
  type GenericReport,
  type Measurements,
  type ReportingOptions,
  type ReportMode,
  type SlowStartMode,
} from './programs.js';

export interface BuiltinOptions {
  readonly report?: ReportMode;
  /** For the window-based algorithms (Reno, Cubic, Vegas, DCTCP); BBR and Copa have their own start-up. */
  readonly slowStart?: SlowStartMode;
}

/** Every built-in algorithm, plus `aggregate-reno` (Reno shared fairly by the flows to one host). */
export function builtinAlgorithms(options: BuiltinOptions = {}): Algorithm[] {
  const r = { report: options.report };
  const w = { ...r, slowStart: options.slowStart };
  return [reno(w), cubic(w), vegas(w), dctcp(w), bbr(r), copa(r), fairShare(reno(w))];
}
