/**
 * What an experiment is: a named, seeded run that returns a summary table,
 * JSON-able data and charts. The `ccp-sim` CLI, the tests and the demo all
 * run experiments through this one interface.
 */
import type { LineChartOptions, CdfChartOptions } from '../plot/charts.js';

export interface ExperimentOptions {
  /** Simulated (or, for real-socket runs, wall-clock) seconds per run; each experiment has its own default. */
  readonly durationS?: number;
  /** Seeds every random choice (loss, jitter, start times). Default 1. */
  readonly seed?: number;
  /** Smaller, shorter runs: seconds of wall time instead of a minute. */
  readonly quick?: boolean;
  /** A mahimahi trace file for the trace-driven link (fidelity's cell link); default the shipped Verizon LTE downlink. */
  readonly trace?: string | URL;
  readonly signal?: AbortSignal;
  /** Called as the experiment advances; `done` of `total` work units (runs, simulated seconds …). */
  readonly progress?: (done: number, total: number) => void;
}

/** A summary table: one row per configuration. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

/** A chart to draw into `<out>/<experiment>-<name>.svg`. */
export type Chart = { readonly name: string } & ({ readonly kind: 'line'; readonly spec: LineChartOptions } | { readonly kind: 'cdf'; readonly spec: CdfChartOptions });

export interface ExperimentResult {
  readonly experiment: string;
  /** The parameters the run used, after scaling (written to the JSON). */
  readonly params: Readonly<Record<string, unknown>>;
  readonly table: Table;
  /** Everything else worth keeping, JSON-able (series, distributions, per-flow stats). */
  readonly data: Readonly<Record<string, unknown>>;
  readonly charts: readonly Chart[];
  /** One-line reading of the result, e.g. "CCP within KS 0.05 of native". */
  readonly notes?: readonly string[];
}

export interface Experiment {
  readonly name: string;
  /** One line for `ccp-sim --help`. */
  readonly description: string;
  run(opts?: ExperimentOptions): Promise<ExperimentResult>;
}
