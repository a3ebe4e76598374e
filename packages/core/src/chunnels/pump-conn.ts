import { AbstractConn } from '../conn/abstract-conn.js';
import type { CallOptions, Conn } from '../conn/conn.js';
import { ConnClosedError } from '../errors.js';

/** How many messages the pump asks the Conn below for at once. */
const PUMP_BATCH = 64;

/**
 * A Conn whose receive side needs state or timers of its own (acks,
 * reordering, de-duplication): a background loop reads the Conn below and
 * hands every batch to `onInner`, which pushes what it delivers into `inbox`.
 *
 * With a finite `highWater` the loop pauses while that many messages wait
 * unread, so a slow reader pushes back on the Conn below instead of buffering
 * without bound.
 */
export abstract class PumpConn<Inner, Outer> extends AbstractConn<Outer> {
  protected readonly inner: Conn<Inner>;
  readonly #highWater: number;
  #resume: (() => void) | undefined;

  constructor(inner: Conn<Inner>, highWater = Infinity) {
    super();
    this.inner = inner;
    this.#highWater = highWater;
  }

  /** Handles one batch from below, synchronously and in arrival order. */
  protected abstract onInner(msgs: Inner[]): void;

  /** The Conn below closed or failed (also when this Conn closed it). */
  protected onInnerEnded(err: Error): void {
    this.ended(err);
  }

  /** Starts the receive loop; subclasses call it last in their constructor. */
  protected startPump(): void {
    void this.#pump();
  }

  override async recv(opts?: CallOptions): Promise<Outer> {
    const msg = await super.recv(opts);
    this.#maybeResume();
    return msg;
  }

  override async recvBatch(max: number, opts?: CallOptions): Promise<Outer[]> {
    const msgs = await super.recvBatch(max, opts);
    this.#maybeResume();
    return msgs;
  }

  /** Lets a paused loop run again so that it sees the Conn below close. */
  protected releasePump(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  async #pump(): Promise<void> {
    for (;;) {
      let msgs: Inner[];
      try {
        msgs = await this.inner.recvBatch(PUMP_BATCH);
      } catch (err) {
        this.onInnerEnded(err instanceof ConnClosedError ? err : new ConnClosedError('the connection below failed: open a new connection', { cause: err }));
        return;
      }
      this.onInner(msgs);
      if (this.inbox.size >= this.#highWater && !this.closed) {
        await new Promise<void>((resolve) => {
          this.#resume = resolve;
        });
      }
    }
  }

  #maybeResume(): void {
    if (this.#resume !== undefined && this.inbox.size < this.#highWater) this.releasePump();
  }
}
