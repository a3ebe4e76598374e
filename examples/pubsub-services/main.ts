/**
 * One application, every queue service: the same stack (serialize + a queue
 * base connection) sends and receives three orders on each service, started
 * here on its emulator or server; switching service is the one line that
 * opens the base. Run: pnpm tsx examples/pubsub-services/main.ts
 * (GCP Pub/Sub runs where Google's emulator is installed; Redis where
 * redis-server is.)
 */
import { makeStack, serialize, wrap } from '@bertha/core';
import { memoryQueue, type QueueConn } from '@bertha/chunnels-pubsub';
import { azureQueue } from '@bertha/chunnels-pubsub/azure';
import { gcpPubSub } from '@bertha/chunnels-pubsub/gcp';
import { redisStreams } from '@bertha/chunnels-pubsub/redis';
import { sqs } from '@bertha/chunnels-pubsub/sqs';
import { createAzureQueue, startAzurite } from '../../packages/chunnels-pubsub/test/support/azurite.js';
import { createTopic, findPubSubEmulator, startPubSubEmulator } from '../../packages/chunnels-pubsub/test/support/pubsub-emulator.js';
import { startSqsEmulator } from '../../packages/chunnels-pubsub/test/support/sqs-emulator.js';
import { startRedis } from '../../scripts/servers/redis.js';

interface Order {
  readonly id: number;
  readonly item: string;
}

/** The application: identical for every service. */
async function run(service: string, open: (consume: boolean) => Promise<QueueConn>): Promise<void> {
  const [txBase, rxBase] = [await open(false), await open(true)];
  const tx = await wrap(makeStack(serialize<Order>()), txBase);
  const rx = await wrap(makeStack(serialize<Order>()), rxBase);
  await tx.sendBatch([1, 2, 3].map((id) => ({ id, item: `widget-${id}` })));
  const got: Order[] = [];
  while (got.length < 3) got.push(...(await rx.recvBatch(3, { signal: AbortSignal.timeout(20_000) })));
  await Promise.all([tx.close(), rx.close()]);
  const calls = (c: QueueConn['calls']) => `${c.send} send, ${c.receive} receive, ${c.ack} ack`;
  console.log(`${service.padEnd(20)} got ids ${got.map((o) => o.id).sort().join(',')}  API calls: sender ${calls(txBase.calls)}; receiver ${calls(rxBase.calls)}`);
}

await run('in-process', async (consume) => memoryQueue({ topic: 'orders', consume }));

const sqsEmu = await startSqsEmulator();
const queueUrl = sqsEmu.createQueue('orders');
const client = { endpoint: sqsEmu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } };
await run('SQS (fauxqs)', (consume) => sqs({ queueUrl, client, consume }));
await sqsEmu.stop();

const redis = await startRedis().catch(() => undefined);
if (redis !== undefined) {
  await run('Redis Streams', (consume) => redisStreams({ redis: redis.url, stream: 'orders', consume }));
  await redis.stop();
}

const azurite = await startAzurite();
const connectionString = azurite.connectionString;
await createAzureQueue(connectionString, 'orders');
await run('Azure Storage Queue', (consume) => azureQueue({ connectionString, queueName: 'orders', consume, pollIntervalMs: 50 }));
await azurite.stop();

if (findPubSubEmulator() !== undefined) {
  const emu = await startPubSubEmulator();
  const clientConfig = { apiEndpoint: emu.host, emulatorMode: true };
  const topic = 'orders';
  await createTopic(emu.host, 'demo', topic);
  // The receiver's subscription must exist before the orders are published.
  const rx = await gcpPubSub({ projectId: 'demo', topic, clientConfig });
  await run('GCP Pub/Sub', async (consume) => (consume ? rx : gcpPubSub({ projectId: 'demo', topic, clientConfig, consume })));
  await emu.stop();
} else {
  console.log('GCP Pub/Sub: emulator not installed, skipped');
}
