import { AbortError, ConnClosedError } from '../errors.js';

interface Waiter<D> {
  /** Wants one message, not an array of them. */
  one: boolean;
  resolve: (msgs: D[] | D) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The receive side of a connection: producers `push`, consumers `take`.
 *
 * A message pushed while a consumer waits is handed over synchronously, with
 * no intermediate buffering. Once `end` is called, buffered messages are still
 * delivered; after that every `take` rejects with the end error.
 */
export class MessageQueue<D> {
  #items: D[] = [];
  #head = 0;
  #waiters: Waiter<D>[] = [];
  #ended: Error | undefined;
  #sink: ((msg: D) => void) | undefined;
  #onEnd: ((err: Error) => void) | undefined;

  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended !== undefined;
  }

  push(msg: D): void {
    if (this.#ended) return;
    if (this.#sink) {
      this.#sink(msg);
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
   * buffered first, and the end to `onEnd`: for a consumer that takes each
   * message at once, with no promise per message.
   */
  divert(sink: (msg: D) => void, onEnd: (err: Error) => void): void {
    const buffered = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#sink = sink;
    this.#onEnd = onEnd;
    for (const m of buffered) sink(m);
    if (this.#ended) onEnd(this.#ended);
  }

  /** Ends the queue: waiters are rejected with `err` once the buffer is drained. */
  end(err: Error = new ConnClosedError()): void {
    if (this.#ended) return;
    this.#ended = err;
    if (this.#onEnd) {
      this.#onEnd(err);
      return;
    }
    if (this.size === 0) {
      for (const w of this.#waiters.splice(0)) {
        this.#settle(w);
        w.reject(err);
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
    if (this.#ended) return Promise.reject(this.#ended);
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
