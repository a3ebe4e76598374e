import { Worker } from 'node:worker_threads';

/** Starts `entry` (a TypeScript module) in a worker thread and waits for its first message. */
export async function startWorker<Ready>(entry: URL, data: unknown): Promise<{ worker: Worker; ready: Ready }> {
  const worker = new Worker(new URL('./tsx-worker.mjs', import.meta.url), { workerData: { entry: entry.href, data } });
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, ready };
}
