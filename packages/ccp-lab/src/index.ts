/**
 * @bertha/ccp-lab — the lab around @bertha/ccp: a discrete-event simulator,
 * link emulation (rate, delay, buffer, loss, mahimahi traces), the paper's
 * experiments, their metrics and plots. `ccp-sim` runs the experiments.
 */
export { Simulator, type RunOptions, type RunResult, type SimulatorOptions } from './sim/simulator.js';
export { simPath, simulateFlow, type SimFlow, type SimFlowSpec, type SimPacket, type SimPath, type SimPathOptions, type SimulateFlowOptions, type SimulateFlowResult } from './sim/sim-path.js';
export { constantTrace, loadTrace, parseTrace, shippedTrace, SHIPPED_TRACES, Trace, TRACE_MTU_BYTES, type ShippedTraceName } from './link/trace.js';
export { Dumbbell, type DumbbellOptions, type FlowPacket } from './link/dumbbell.js';
export { EmulatedLinkConn, emulatedLink, type EmulatedLinkOptions } from './link/emulated-link.js';
export { Link, type LinkOptions, type LinkStats, type Packet, type QueueDelaySample } from './link/link.js';
export { TraceError } from './link/errors.js';
export { cdfChart, lineChart, type Axis, type CdfChartOptions, type CdfSeries, type ChartSize, type HorizontalRule, type LineChartOptions, type LineSeries } from './plot/charts.js';
export { renderSvg, writePlot } from './plot/render.js';
export { aggregationExperiment } from './experiments/aggregation.js';
export { anywhereExperiment } from './experiments/anywhere.js';
export { bbrExperiment } from './experiments/bbr.js';
export { EXPERIMENTS } from './experiments/all.js';
export { bundlerExperiment } from './experiments/bundler.js';
export { EpochMeter, type EpochEstimate, type EpochMeterStats } from './bundler/epoch-meter.js';
export { checkPeriod, headerHash, isBoundary, periodFor, MAX_PERIOD, type InvariantHeader } from './bundler/header-hash.js';
export { Receivebox, type EpochFeedback, type ReceiveboxStats } from './bundler/receivebox.js';
export { bundleCopa, Sendbox, type BundlePacket, type SendboxOptions, type SendboxStats } from './bundler/sendbox.js';
export { PacedQueue, type PacedQueueOptions } from './bundler/paced-queue.js';
export type { Scheduler } from './bundler/scheduler.js';
export { FifoScheduler } from './bundler/fifo-scheduler.js';
export { SfqScheduler, type SfqOptions } from './bundler/sfq-scheduler.js';
export { SendboxRelay, startSendboxRelay, type SendboxRelayOptions, type SendboxRelayStats } from './bundler/relay/sendbox-relay.js';
export { ReceiveboxRelay, startReceiveboxRelay, type ReceiveboxRelayOptions, type ReceiveboxRelayStats } from './bundler/relay/receivebox-relay.js';
export { decodeFrame, encodeData, encodeFeedback, encodePeriod, encodeReverse, type Frame, type FlowAddress } from './bundler/relay/frame.js';
export type { Udp4Address } from './bundler/relay/udp4-socket.js';
export { aloneFct, aloneKey } from './bundler/alone-fct.js';
export { runSiteNetwork, SETUPS, type Setup, type SiteNetworkOptions, type SiteNetworkResult } from './bundler/site-network.js';
export { heavyTailedRequests, meanRequestBytes, requestSize, type Request, type WorkloadOptions } from './bundler/workload.js';
export { fidelityExperiment } from './experiments/fidelity.js';
export { formatTable, writeResult, type ResultMeta } from './experiments/output.js';
export { lowRttExperiment } from './experiments/low-rtt.js';
export { runScenario } from './experiments/run-scenario.js';
export { slowStartExperiment } from './experiments/slow-start.js';
export { BinnedCounter, percentileOf, sorted, type Point } from './experiments/metrics.js';
export type { CcSpec, FlowRecord, FlowSample, FlowSpec, RunControl, Scenario, ScenarioResult } from './experiments/scenario.js';
export type { Chart, Experiment, ExperimentOptions, ExperimentResult, Table } from './experiments/experiment.js';
// Nimbus (elasticity detection) and the Park-style learning environment
export { nimbusExperiment } from './experiments/nimbus.js';
export { parkExperiment } from './experiments/park.js';
export { nimbus, NimbusFlow, type NimbusDecision, type NimbusMode, type NimbusOptions } from './nimbus/nimbus.js';
export { ElasticityDetector, type ElasticityOptions, type Spectrum } from './nimbus/elasticity.js';
export { LinkRateEstimator, type LinkRateOptions } from './nimbus/link-rate.js';
export { asymmetricPulse } from './nimbus/pulse.js';
export { constantRate, constantRateName } from './algorithms/constant-rate.js';
export { shadowFlow, type Shadow } from './algorithms/shadow.js';
export {
  CONFINED_RANGE,
  CongestionControlEnv,
  DELAY_WEIGHT,
  FREE_RANGE,
  LOSS_WEIGHT,
  type ActionSpaceKind,
  type CcEnvOptions,
  type StepInfo,
  type StepResult,
} from './park/env.js';
export { EnvStateError } from './park/errors.js';
export { boxSpace, contains, type BoxSpace } from './park/spaces.js';
export { vegasPolicy, type Policy } from './park/policy.js';
export { LinearPolicyGradient, type PolicyGradientOptions } from './park/policy-gradient.js';
export { playEpisode, trainEpisode } from './park/train.js';
export type { WindowChoice } from './park/park-flow.js';
