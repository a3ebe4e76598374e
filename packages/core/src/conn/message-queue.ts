import { AbortError, ConnClosedError } from '../errors.js';

interface Waiter<D> {
  /** Wants one message, not an array of them. */
  one: boolean;
  resolve: (msgs: D[] | D) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Takes the messages of a diverted queue as they are pushed, then its end. */
export interface QueueSink<D> {
  onMessage(msg: D): void;
  onEnd(err: Error): void;
}

/** Why a queue ended, or how to make that error when someone first needs it. */
export type QueueEnd = Error | (() => Error);

/**
 * The receive side of a connection: producers `push`, consumers `take`.
 *
 * A message pushed while a consumer waits is handed over synchronously, with
 * no intermediate buffering. Once `end` is called, buffered messages are still
 * delivered; after that every `take` rejects with the end error. The error
 * may be given as a function: most closed connections are never read again,
 * so it is made only if someone is there to see it.
 */
export class MessageQueue<D> {
  #items: D[] = [];
  #head = 0;
  #waiters: Waiter<D>[] = [];
  #end: QueueEnd | undefined;
  #sink: QueueSink<D> | undefined;

  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  #error(): Error {
    const end = this.#end as QueueEnd;
    if (end instanceof Error) return end;
    const err = end();
    this.#end = err;
    return err;
  }

  push(msg: D): void {
    if (this.#end) return;
    if (this.#sink) {
      this.#sink.onMessage(msg);
      return;
    }
    const w = this.#waiters.shift();
    if (w) {
      this.#settle(w);
      w.resolve(w.one ? msg : [msg]);
      return;
    }
    this.#items.push(msg);
  }

  pushMany(msgs: readonly D[]): void {
    for (const m of msgs) this.push(m);
  }

  /**
   * From now on hands every message to `sink` as it is pushed, those
   * buffered first, and then the end: for a consumer that takes each message
   * at once, with no promise per message. `undefined` stops diverting: a
   * consumer about to close the connection itself need not hear of the end.
   */
  divert(sink: QueueSink<D> | undefined): void {
    this.#sink = sink;
    if (!sink) return;
    if (this.size > 0) {
      const buffered = this.#items.slice(this.#head);
      this.#items = [];
      this.#head = 0;
      for (const m of buffered) sink.onMessage(m);
    }
    if (this.#end && this.#sink === sink) sink.onEnd(this.#error());
  }

  /** Ends the queue: waiters are rejected with `err` once the buffer is drained. */
  end(err: QueueEnd = closed): void {
    if (this.#end) return;
    this.#end = err;
    if (this.#sink) {
      this.#sink.onEnd(this.#error());
      return;
    }
    if (this.size === 0 && this.#waiters.length > 0) {
      const error = this.#error();
      for (const w of this.#waiters.splice(0)) {
        this.#settle(w);
        w.reject(error);
      }
    }
  }

  /** Takes up to `max` messages, waiting for at least one. */
  take(max: number, signal?: AbortSignal): Promise<D[]> {
    if (this.size > 0) return Promise.resolve(this.#drain(max));
    return this.#wait<D[]>(false, signal);
  }

  /** Takes one message, waiting for it. */
  takeOne(signal?: AbortSignal): Promise<D> {
    if (this.size > 0) return Promise.resolve(this.#drainOne());
    return this.#wait<D>(true, signal);
  }

  #wait<R extends D | D[]>(one: boolean, signal: AbortSignal | undefined): Promise<R> {
    if (this.#end) return Promise.reject(this.#error());
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<R>((resolve, reject) => {
      const w: Waiter<D> = { one, resolve: resolve as (msgs: D[] | D) => void, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new AbortError(signal.reason));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
    });
  }

  /** Messages available right now, without waiting (up to `max`). */
  poll(max = Infinity): D[] {
    return this.size > 0 ? this.#drain(max) : [];
  }

  #drainOne(): D {
    const m = this.#items[this.#head] as D;
    this.#advance(1);
    return m;
  }

  #drain(max: number): D[] {
    const n = Math.min(max, this.size);
    const out = this.#items.slice(this.#head, this.#head + n);
    this.#advance(n);
    return out;
  }

  #advance(n: number): void {
    this.#head += n;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #settle(w: Waiter<D>): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
  }
}

const closed = (): Error => new ConnClosedError();
