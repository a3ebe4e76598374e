/** The `ccp-sim` experiments, their metrics and output helpers. */
import { aggregationExperiment } from './aggregation.js';
import { anywhereExperiment } from './anywhere.js';
import { bbrExperiment } from './bbr.js';
import type { Experiment } from './experiment.js';
import { fidelityExperiment } from './fidelity.js';
import { lowRttExperiment } from './low-rtt.js';
import { slowStartExperiment } from './slow-start.js';

export type { Chart, Experiment, ExperimentOptions, ExperimentResult, Table } from './experiment.js';
export { BinnedCounter, type Point } from './metrics.js';
export { formatTable, writeResult, type ResultMeta } from './output.js';
export { runScenario } from './run-scenario.js';
export type { CcSpec, FlowRecord, FlowSample, FlowSpec, RunControl, Scenario, ScenarioResult } from './scenario.js';
export { aggregationExperiment, anywhereExperiment, bbrExperiment, fidelityExperiment, lowRttExperiment, slowStartExperiment };

/** Every experiment, in the order `ccp-sim all` runs them. */
export const EXPERIMENTS: readonly Experiment[] = [
  bbrExperiment,
  slowStartExperiment,
  fidelityExperiment,
  aggregationExperiment,
  anywhereExperiment,
  lowRttExperiment,
];
