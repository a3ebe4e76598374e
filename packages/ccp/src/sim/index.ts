export { realClock, type Clock, type RealClockOptions, type Timer } from './clock.js';
export { Simulator, type RunOptions, type RunResult, type SimulatorOptions } from './simulator.js';
