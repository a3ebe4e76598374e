/**
 * The in-process channel to a shard running in a worker thread: a
 * MessagePort. Requests of every client connection travel in batches (one
 * postMessage per event-loop turn) tagged with their connection's id; the
 * shard answers in batches with the same ids.
 */
import type { MessagePort } from 'node:worker_threads';

/** One batch over a shard port, either way: `msgs[i]` belongs to connection `ids[i]`. */
export interface ShardBatch {
  readonly ids: readonly number[];
  readonly msgs: readonly Uint8Array[];
}

export function isShardBatch(x: unknown): x is ShardBatch {
  if (typeof x !== 'object' || x === null) return false;
  const b = x as Partial<ShardBatch>;
  return Array.isArray(b.ids) && Array.isArray(b.msgs) && b.ids.length === b.msgs.length;
}

let nextId = 1;
/** A process-wide id for a connection that sends over shard ports. */
export const connectionId = (): number => nextId++;

export class LocalRoute {
  #down = false;
  #ids: number[] = [];
  #msgs: Uint8Array[] = [];
  #scheduled = false;
  readonly #port: MessagePort;
  readonly #replies = new Map<number, (msg: Uint8Array) => void>();

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (b: unknown) => {
      if (!isShardBatch(b)) return;
      for (let i = 0; i < b.ids.length; i++) this.#replies.get(b.ids[i] as number)?.(b.msgs[i] as Uint8Array);
    });
    port.on('close', () => {
      this.#down = true;
    });
    // The port alone must not keep a server's process alive.
    port.unref();
  }

  /** False once the shard's end of the port closed (its worker exited). */
  get up(): boolean {
    return !this.#down;
  }

  register(id: number, onReply: (msg: Uint8Array) => void): void {
    this.#replies.set(id, onReply);
  }

  unregister(id: number): void {
    this.#replies.delete(id);
  }

  send(id: number, msg: Uint8Array): void {
    this.#ids.push(id);
    this.#msgs.push(msg);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the poll phase: every datagram read in this turn goes in one batch.
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch: ShardBatch = { ids: this.#ids, msgs: this.#msgs };
    this.#ids = [];
    this.#msgs = [];
    if (!this.#down) this.#port.postMessage(batch);
  };
}

/** One route per port, shared by every sharder on it (a raw sharder made by the pass shares its original's). */
const routes = new WeakMap<MessagePort, LocalRoute>();

export function localRoute(port: MessagePort): LocalRoute {
  let r = routes.get(port);
  if (!r) routes.set(port, (r = new LocalRoute(port)));
  return r;
}
