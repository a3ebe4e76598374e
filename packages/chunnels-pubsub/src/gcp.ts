/**
 * `@bertha/chunnels-pubsub/gcp`: a base connection to a GCP Pub/Sub topic
 * and subscription (needs the optional peer dependency @google-cloud/pubsub).
 */
import { PubSub, v1, type ClientConfig } from '@google-cloud/pubsub';
import { InvalidArgumentError } from '@bertha/core';
import { QueueConn, type QueueConnOptions } from './queue-conn.js';
import { classifyGcpError, GcpPubSubDriver, noRetry } from './services/gcp-pubsub.js';

export { GCP_PUBSUB_LIMITS } from './services/gcp-pubsub.js';

export interface GcpPubSubOptions extends QueueConnOptions {
  readonly projectId: string;
  /** The topic (it must exist). */
  readonly topic: string;
  /**
   * Receivers with the same name share a subscription and compete; each name
   * gets every message. Default 'default'; the subscription is
   * `<topic>-<receiver>` unless `subscription` names one.
   */
  readonly receiver?: string;
  readonly subscription?: string;
  /** Whether a subscription created here orders by ordering key (ordering is fixed when it is created). Default true. */
  readonly ordering?: boolean;
  /** Ack deadline of received messages, extended while held. Default 30,000 ms; 10,000–600,000. */
  readonly leaseMs?: number;
  /** Client configuration (`apiEndpoint`, credentials …); the emulator is found through PUBSUB_EMULATOR_HOST as usual. */
  readonly clientConfig?: ClientConfig;
}

/**
 * Opens a connection: checks that the topic exists (`QueueNotFoundError`)
 * and, for a receiving connection, creates its subscription if missing.
 * Messages published before a subscription exists never reach it.
 */
export async function gcpPubSub(opts: GcpPubSubOptions): Promise<QueueConn> {
  const leaseMs = opts.leaseMs ?? 30_000;
  if (!(leaseMs >= 10_000 && leaseMs <= 600_000)) throw new InvalidArgumentError(`gcpPubSub: leaseMs must be between 10,000 and 600,000 (Pub/Sub ack deadline), got ${leaseMs}`);
  const client = new PubSub({ projectId: opts.projectId, ...opts.clientConfig });
  const { port, ...rest } = await client.getClientConfig();
  await client.close();
  // The emulator takes no credentials; naming the universe keeps the client from probing for a
  // GCE metadata server, which warns (MetadataLookupWarning) on every machine that is not one.
  const universe = client.isEmulator ? { universeDomain: rest.universeDomain ?? 'googleapis.com' } : {};
  const config = { ...rest, ...universe, port: port === undefined ? undefined : Number(port) };
  const pub = new v1.PublisherClient(config);
  const sub = new v1.SubscriberClient(config);
  const topic = `projects/${opts.projectId}/topics/${opts.topic}`;
  const subscription = `projects/${opts.projectId}/subscriptions/${opts.subscription ?? `${opts.topic}-${opts.receiver ?? 'default'}`}`;
  let ordering = opts.ordering ?? true;
  let what = `topic '${topic}'`;
  try {
    await pub.getTopic({ topic }, noRetry(10_000));
    if (opts.consume !== false) {
      what = `subscription '${subscription}'`;
      const [meta] = await sub.getSubscription({ subscription }, noRetry(10_000)).catch((err: unknown) => {
        if ((err as { code?: number }).code !== 5) throw err;
        return sub.createSubscription({ name: subscription, topic, ackDeadlineSeconds: Math.ceil(leaseMs / 1000), enableMessageOrdering: ordering }, noRetry(10_000));
      });
      ordering = meta.enableMessageOrdering === true;
    }
  } catch (err) {
    await Promise.all([pub.close(), sub.close()]);
    throw classifyGcpError(err, what);
  }
  return new QueueConn(new GcpPubSubDriver(pub, sub, topic, opts.consume === false ? '' : subscription, ordering, leaseMs), opts);
}
