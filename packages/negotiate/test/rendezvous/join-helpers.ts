import { AbstractConn, twoSided, type CallOptions, type Chunnel, type Conn } from '@bertha/core';
import type { RendezvousHandle } from '../../src/rendezvous/handle.js';
import { StoreUnavailableError, type RendezvousEvent, type RendezvousStore } from '../../src/rendezvous/store.js';
import { layer } from '../helpers.js';

/**
 * An in-process broadcast medium: what one member sends reaches every other
 * open member once, a turn of the event loop later (so messages are in
 * flight while stacks switch).
 */
export class Bus {
  readonly #members = new Set<BusConn>();

  open(): Conn<Uint8Array> {
    const conn = new BusConn(this.#members);
    this.#members.add(conn);
    return conn;
  }
}

class BusConn extends AbstractConn<Uint8Array> {
  readonly #members: Set<BusConn>;

  constructor(members: Set<BusConn>) {
    super();
    this.#members = members;
  }

  deliver(msg: Uint8Array): void {
    this.inbox.push(msg);
  }

  async sendBatch(msgs: readonly Uint8Array[], _opts?: CallOptions): Promise<void> {
    this.assertOpen();
    const copies = msgs.map((m) => new Uint8Array(m));
    const to = [...this.#members].filter((m) => m !== this);
    setImmediate(() => {
      for (const m of to) for (const c of copies) m.deliver(c);
    });
  }

  protected async onClose(): Promise<void> {
    this.#members.delete(this);
  }
}

/** A byte Chunnel offering capability `tag: <name>`, which garbles (and so drops) messages of any other tag. */
export function tag<const N extends string>(name: N, wrapDelayMs = 0): Chunnel<Uint8Array, Uint8Array, N> {
  const inner = layer(name, [twoSided('tag', name)]);
  if (wrapDelayMs === 0) return inner;
  return {
    ...inner,
    connectWrap: async (conn, ctx) => {
      await new Promise((r) => setTimeout(r, wrapDelayMs));
      return inner.connectWrap(conn, ctx);
    },
  };
}

/** Like `tag(name)`, but building it fails the first `failures` times (every time for `Infinity`), as a layer whose set-up needs a service that is away. */
export function flaky<const N extends string>(name: N, failures: number): Chunnel<Uint8Array, Uint8Array, N> & { builds: number } {
  const inner = tag(name);
  const chunnel = {
    ...inner,
    builds: 0,
    connectWrap: async (conn: Conn<Uint8Array>, ctx: Parameters<typeof inner.connectWrap>[1]) => {
      if (++chunnel.builds <= failures) throw new Error(`${name}: its service is away (build ${chunnel.builds})`);
      return inner.connectWrap(conn, ctx);
    },
  };
  return chunnel;
}

type Forward = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => Promise<R>;

/** A store that passes every call to `store` through `forward`. */
function forwarding(store: RendezvousStore, forward: Forward): RendezvousStore {
  return {
    leaseMs: store.leaseMs,
    tryInit: forward(store.tryInit.bind(store)),
    heartbeat: forward(store.heartbeat.bind(store)),
    state: forward(store.state.bind(store)),
    leave: forward(store.leave.bind(store)),
    startTransition: forward(store.startTransition.bind(store)),
    stageAck: forward(store.stageAck.bind(store)),
    commitIfReady: forward(store.commitIfReady.bind(store)),
    subscribe: forward(store.subscribe.bind(store)),
    close: store.close.bind(store),
  };
}

/** A store that forwards to `store` until `kill()`, then fails every call as an unreachable store would, until `revive()`. */
export function killable(store: RendezvousStore): RendezvousStore & { kill(): void; revive(): void } {
  let dead = false;
  const gate: Forward =
    (fn) =>
    (...args) =>
      dead ? Promise.reject(new StoreUnavailableError('killed by the test')) : fn(...args);
  return {
    ...forwarding(store, gate),
    kill: () => {
      dead = true;
    },
    revive: () => {
      dead = false;
    },
  };
}

/**
 * A store whose subscriptions never deliver events of the given types, as
 * when a notification is lost or coalesced away: its subscriber learns of
 * those changes only from its own calls and heartbeats.
 */
export function deaf(store: RendezvousStore, types: ReadonlyArray<RendezvousEvent['type']>): RendezvousStore {
  return {
    ...forwarding(store, (fn) => fn),
    subscribe: (name, listener, options) => store.subscribe(name, (event, state) => types.includes(event.type) || listener(event, state), options),
  };
}

/** Resolves once `check()` holds, re-checking on every handle event and every few ms; rejects after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What `promise` rejects with; `undefined` if it resolves. */
export const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

export const picked = (h: RendezvousHandle, name: string): boolean => h.pick.includes(name);

/** Receives into `into` until the connection closes. */
export function collect<D>(conn: Conn<D>, into: D[]): Promise<void> {
  return (async () => {
    for await (const m of conn) into.push(m);
  })();
}
