/**
 * @bertha/ccp — the Congestion Control Plane: the datapath language, the
 * datapath runtime, libccp-compatible IPC, the agent and its algorithms.
 */
export * from './errors.js';
export * from './program.js';
export * from './lang/index.js';
export * from './datapath/index.js';
export * from './ipc/index.js';
export * from './agent/index.js';
export * from './algorithms/index.js';
export * from './sim/index.js';
export * from './link/index.js';
export * from './plot/index.js';
export * from './transport/index.js';
export * from './experiments/index.js';
