/**
 * Members of rendezvous groups hosted on one store, as one process of a
 * deployment hosts its replicas: `bench rendezvous` runs one host per worker
 * thread (each with its own store connection, see rendezvous-worker.ts), or
 * in its own thread for the embedded store. Their medium is a silent Conn:
 * only the store's work is measured.
 */
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { AbstractConn } from '@bertha/core';
import { join, type RendezvousHandle, type RendezvousStore } from '@bertha/negotiate';
import type { RedisStoreOptions } from '@bertha/negotiate/redis';
import { connectStack as stack } from './connect-stack.js';
import { startWorker } from './worker.js';

/** What `bench rendezvous` asks of a host, wherever it runs. */
export interface MemberHost {
  /** Joins `members` into `name`, 50 at a time; the ms each join took. */
  join(name: string, members: readonly string[]): Promise<number[]>;
  /** Has `member` propose `pick` and waits for its commit; the ms it took. */
  trigger(name: string, member: string, pick: readonly string[]): Promise<number>;
  /** The members hosted here leave `name` (`members`, or all of them). */
  leave(name: string, members?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

class Silent extends AbstractConn<Uint8Array> {
  async sendBatch(): Promise<void> {}
  protected async onClose(): Promise<void> {}
}

/** Joins at a time: a burst of a thousand would only queue in the store. */
const JOIN_BATCH = 50;

export class LocalHost implements MemberHost {
  readonly #store: RendezvousStore;
  /** name -> member -> handle */
  readonly #groups = new Map<string, Map<string, RendezvousHandle>>();

  constructor(store: RendezvousStore) {
    this.#store = store;
  }

  async join(name: string, members: readonly string[]): Promise<number[]> {
    let group = this.#groups.get(name);
    if (group === undefined) this.#groups.set(name, (group = new Map<string, RendezvousHandle>()));
    const ms: number[] = [];
    for (let i = 0; i < members.length; i += JOIN_BATCH) {
      await Promise.all(
        members.slice(i, i + JOIN_BATCH).map(async (member) => {
          const t = performance.now();
          const { handle } = await join(stack, { name, base: new Silent(), store: this.#store, member });
          ms.push(performance.now() - t);
          group.set(member, handle);
        }),
      );
    }
    return ms;
  }

  async trigger(name: string, member: string, pick: readonly string[]): Promise<number> {
    const handle = this.#groups.get(name)?.get(member);
    if (handle === undefined) throw new Error(`no member ${member} of ${name} here`);
    const t = performance.now();
    await handle.trigger(pick);
    return performance.now() - t;
  }

  async leave(name: string, members?: readonly string[]): Promise<void> {
    const group = this.#groups.get(name);
    if (group === undefined) return;
    const leaving = members ?? [...group.keys()];
    await Promise.all(leaving.map((m) => group.get(m)?.leave() ?? Promise.resolve()));
    for (const m of leaving) group.delete(m);
    if (group.size === 0) this.#groups.delete(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#groups.keys()].map((name) => this.leave(name)));
    await this.#store.close();
  }
}

/** What a worker host connects to. */
export interface HostData {
  readonly target: string | { readonly cluster: ReadonlyArray<{ readonly host: string; readonly port: number }> };
  readonly options: RedisStoreOptions;
}

type Request =
  | { readonly op: 'join'; readonly name: string; readonly members: readonly string[] }
  | { readonly op: 'trigger'; readonly name: string; readonly member: string; readonly pick: readonly string[] }
  | { readonly op: 'leave'; readonly name: string; readonly members?: readonly string[] }
  | { readonly op: 'close' };

export type HostRequest = Request & { readonly id: number };
export type HostReply = { readonly id: number; readonly value?: unknown; readonly error?: string };

const EXIT_WAIT_MS = 5_000;

/** A host in a worker thread with its own store connection (rendezvous-worker.ts). */
export async function startWorkerHost(data: HostData): Promise<MemberHost> {
  const { worker } = await startWorker<'ready'>(new URL('./rendezvous-worker.ts', import.meta.url), data);
  return new WorkerHost(worker);
}

class WorkerHost implements MemberHost {
  readonly #worker: Worker;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: HostReply) => {
      const call = this.#calls.get(reply.id);
      this.#calls.delete(reply.id);
      if (reply.error !== undefined) call?.reject(new Error(reply.error));
      else call?.resolve(reply.value);
    });
    worker.on('error', (err) => {
      for (const call of this.#calls.values()) call.reject(err);
      this.#calls.clear();
    });
  }

  join(name: string, members: readonly string[]): Promise<number[]> {
    return this.#call({ op: 'join', name, members }) as Promise<number[]>;
  }

  trigger(name: string, member: string, pick: readonly string[]): Promise<number> {
    return this.#call({ op: 'trigger', name, member, pick }) as Promise<number>;
  }

  async leave(name: string, members?: readonly string[]): Promise<void> {
    await this.#call(members === undefined ? { op: 'leave', name } : { op: 'leave', name, members });
  }

  /** Closes the host and waits for its thread to end by itself; one that does not (a handle left open) is reported and stopped. */
  async close(): Promise<void> {
    const exited = once(this.#worker, 'exit');
    await this.#call({ op: 'close' });
    const timer = setTimeout(() => {
      console.error(`a member host did not end within ${EXIT_WAIT_MS} ms of closing its store: something keeps it alive`);
      void this.#worker.terminate();
    }, EXIT_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }

  #call(req: Request): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }
}
