export {
  CREATE_RETRY_US,
  Datapath,
  type DatapathCallbacks,
  type DatapathOptions,
  type DatapathRuntime,
  type DatapathStats,
  type Primitives,
} from './datapath.js';
export { checkProgram, checkUpdate } from './check.js';
export * from './errors.js';
