/**
 * fauxqs (the SQS emulator) in this process, on a free loopback port. fauxqs
 * imports `node:sqlite` when it loads, for its optional persistence, which
 * Node < 22.5 lacks; we never persist, so that import is answered with a stub
 * that throws if used (fauxqs declares Node >= 22.5, see the root .npmrc).
 * Used by the test setup (scripts/servers/sqs.ts), the example and the bench.
 */
import { register } from 'node:module';

export interface SqsEmulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Creates a queue and returns its URL; a name ending in `.fifo` makes a FIFO queue. */
  createQueue(name: string, attributes?: Record<string, string>): string;
  stop(): Promise<void>;
}

let shimmed = false;

function shimSqlite(): void {
  if (shimmed || process.getBuiltinModule?.('node:sqlite') !== undefined) return;
  shimmed = true;
  const stub = `data:text/javascript,${encodeURIComponent('export class DatabaseSync { constructor() { throw new Error("node:sqlite needs Node >= 22.5"); } }')}`;
  const hooks = `export async function resolve(s, c, next) { return s === 'node:sqlite' ? { url: ${JSON.stringify(stub)}, shortCircuit: true } : next(s, c); }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** Starts the emulator on `port` (default: a free one). */
export async function startSqsEmulator(port = 0): Promise<SqsEmulator> {
  shimSqlite();
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port, host: '127.0.0.1', logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    endpoint,
    port: server.port,
    createQueue: (name, attributes = {}) =>
      server.createQueue(name, { attributes: name.endsWith('.fifo') ? { FifoQueue: 'true', ...attributes } : attributes }).queueUrl,
    stop: () => server.stop(),
  };
}
