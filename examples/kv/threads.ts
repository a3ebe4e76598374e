import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * Starts a TypeScript module in a worker thread (workers do not inherit
 * tsx's loader: the thread registers it first) and waits for its first
 * message.
 */
export async function startTsWorker<Ready>(file: URL, workerData: unknown, transferList: readonly TransferListItem[] = []): Promise<{ worker: Worker; ready: Ready }> {
  const loader = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(file.href)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(loader)}`), { workerData, transferList: [...transferList] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker ${file.pathname} exited with code ${code} before it was ready`)));
  });
  return { worker, ready };
}
