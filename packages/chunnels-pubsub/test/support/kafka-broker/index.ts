// The Kafka wire-protocol test broker (test support, not published).
export { startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './broker.js';
export type { GroupSnapshot, GroupState } from './group-coordinator.js';
