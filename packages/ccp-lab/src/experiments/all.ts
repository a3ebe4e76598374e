/** The list `ccp-sim` offers, one subcommand each. */
import { aggregationExperiment } from './aggregation.js';
import { anywhereExperiment } from './anywhere.js';
import { bbrExperiment } from './bbr.js';
import { bundlerExperiment } from './bundler.js';
import type { Experiment } from './experiment.js';
import { fidelityExperiment } from './fidelity.js';
import { lowRttExperiment } from './low-rtt.js';
import { nimbusExperiment } from './nimbus.js';
import { parkExperiment } from './park.js';
import { slowStartExperiment } from './slow-start.js';

/** Every experiment, in the order `ccp-sim all` runs them. */
export const EXPERIMENTS: readonly Experiment[] = [
  bbrExperiment,
  slowStartExperiment,
  fidelityExperiment,
  aggregationExperiment,
  anywhereExperiment,
  lowRttExperiment,
  nimbusExperiment,
  parkExperiment,
  bundlerExperiment,
];
