/**
 * `pnpm bench pubsub`: queues as Chunnels. The benchmark lives with its
 * package (packages/chunnels-pubsub/bench/pubsub.ts), where the cloud SDKs
 * it compares against resolve; see there for what it measures and its flags.
 */
await import('../packages/chunnels-pubsub/bench/pubsub.js');
