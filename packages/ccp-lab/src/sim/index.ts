export { Simulator, type RunOptions, type RunResult, type SimulatorOptions } from './simulator.js';
export {
  simPath,
  simulateFlow,
  type SimFlow,
  type SimFlowSpec,
  type SimPacket,
  type SimPath,
  type SimPathOptions,
  type SimulateFlowOptions,
  type SimulateFlowResult,
} from './sim-path.js';
