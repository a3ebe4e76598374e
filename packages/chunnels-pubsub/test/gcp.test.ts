import { randomUUID } from 'node:crypto';
import { gcpPubSub } from '@bertha/chunnels-pubsub/gcp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { QueueNotFoundError, QueueUnavailableError } from '../src/index.js';
import { freePort } from '../../../scripts/servers/redis.js';
import { describeQueueCompliance } from './compliance.js';
import { emulatorAdmin } from './support/pubsub-emulator.js';

const host = inject('pubsubEmulatorHost');
const projectId = 'bertha-test';
const clientConfig = { apiEndpoint: host, emulatorMode: true };
// Pub/Sub's shortest ack deadline: the redelivery tests wait a few of them.
const leaseMs = 10_000;

if (host === '') {
  describe.skip('gcp pubsub: the Pub/Sub emulator is not installed (Google Cloud SDK + Java 17); under CI=true this fails', () => {
    it('compliance', () => undefined);
  });
} else {
  const admin = await emulatorAdmin(host, projectId);
  // Off GCE, a client that looks for credentials probes the metadata server and warns; on the
  // emulator neither our connections nor the admin may do that.
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  afterAll(async () => {
    process.off('warning', onWarning);
    await admin.close();
    expect(warnings).not.toContain('MetadataLookupWarning');
  });

  describeQueueCompliance(
    'gcp pubsub',
    {
      leaseMs,
      semantics: { ordering: 'group', fanOut: true },
      foreignBodies: false,
      fresh: async () => {
        const [topic] = await admin.createTopic(`topic-${randomUUID()}`);
        // Messages published before a subscription exists never reach it: make the shared one first.
        await topic.createSubscription(`${topic.name.split('/').pop() ?? ''}-default`, { enableMessageOrdering: true, ackDeadlineSeconds: leaseMs / 1000 });
        const name = topic.name.split('/').pop() ?? '';
        return {
          open: (o = {}) => gcpPubSub({ projectId, topic: name, clientConfig, leaseMs, waitMs: 1_000, ...o }),
          cleanup: async () => {
            await topic.delete();
          },
        };
      },
    },
    60_000,
  );

  describe('gcp pubsub faults', () => {
    it('a missing topic is a QueueNotFoundError naming it', async () => {
      const err = await gcpPubSub({ projectId, topic: 'no-such-topic', clientConfig }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueNotFoundError);
      expect((err as Error).message).toContain('no-such-topic');
    });

    it('a service that is down is a QueueUnavailableError', { timeout: 60_000 }, async () => {
      const down = { apiEndpoint: `127.0.0.1:${await freePort()}`, emulatorMode: true };
      await expect(gcpPubSub({ projectId, topic: 'some-topic', clientConfig: down })).rejects.toBeInstanceOf(QueueUnavailableError);
    });
  });
}
