/**
 * A worker thread of `bench rendezvous`: one host of members (rendezvous-members.ts)
 * with its own Redis store connection, run by messages from the main thread.
 * It ends by itself once closed: nothing of the store may keep it alive.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { redisStore } from '@bertha/negotiate/redis';
import { LocalHost, type HostData, type HostReply, type HostRequest, type MemberHost } from './rendezvous-members.js';

const port = parentPort as MessagePort;
const data = (workerData as { data: HostData }).data;
const host: MemberHost = new LocalHost(redisStore(data.target, data.options));

async function run(req: HostRequest): Promise<unknown> {
  switch (req.op) {
    case 'join':
      return host.join(req.name, req.members);
    case 'trigger':
      return host.trigger(req.name, req.member, req.pick);
    case 'leave':
      return host.leave(req.name, req.members);
    case 'close':
      await host.close();
      // No more requests: the port no longer keeps this thread alive.
      port.unref();
      return undefined;
  }
}

port.on('message', (req: HostRequest) => {
  run(req).then(
    (value) => port.postMessage({ id: req.id, value } satisfies HostReply),
    (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies HostReply),
  );
});
port.postMessage('ready');
