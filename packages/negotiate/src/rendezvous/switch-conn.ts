/**
 * A connection whose stack is switched in place. Every message below the
 * stack carries the epoch of the pick it was sent with:
 *
 *   u8   version   1
 *   u32  epoch     big-endian, the epoch id of the sender's pick (join-pick.ts)
 *   ...  payload   what the sender's stack instance produced
 *
 * Each epoch has its own stack instance over its own slice of the base
 * connection, so a receiver decodes every message with the stack it was sent
 * with. The sender switches at once; an old instance keeps receiving until it
 * has been idle for `drainMs`, so messages still in flight are not lost.
 * Messages for an epoch not known yet (a peer switched first) wait, bounded,
 * until its instance exists.
 */
import { AbstractConn, ConnClosedError, StackError, type CallOptions, type Conn } from '@bertha/core';

const VERSION = 1;
const HEADER = 5;
/** Messages held for epochs whose instance does not exist yet, over all epochs. */
const MAX_EARLY = 4096;

export interface SwitchStats {
  sent: number;
  received: number;
  /** Malformed, or for an epoch already retired, or beyond the early-message bound. */
  dropped: number;
}

/** Builds one stack instance over the slice of the base connection it is given. */
export type BuildInstance = (lower: Conn<Uint8Array>) => Promise<Conn<unknown>>;

interface Instance {
  readonly epoch: number;
  readonly lower: EpochConn;
  readonly ready: Promise<Conn<unknown>>;
  top?: Conn<unknown>;
  lastRx: number;
  /** Set once another instance replaced it as the sender's. */
  retirable: boolean;
}

/** One epoch's slice of the base connection: tags what it sends, receives what the demultiplexer routes to it. */
class EpochConn extends AbstractConn<Uint8Array> {
  readonly #base: Conn<Uint8Array>;
  readonly #header: Uint8Array;
  readonly #onClose: () => void;

  constructor(base: Conn<Uint8Array>, epoch: number, onClose: () => void) {
    super();
    this.#base = base;
    this.#header = new Uint8Array(HEADER);
    this.#header[0] = VERSION;
    new DataView(this.#header.buffer).setUint32(1, epoch);
    this.#onClose = onClose;
  }

  deliver(msg: Uint8Array): void {
    this.stats.received++;
    this.inbox.push(msg);
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    this.assertOpen();
    this.stats.sent += msgs.length;
    await this.#base.sendBatch(
      msgs.map((m) => {
        const out = new Uint8Array(HEADER + m.byteLength);
        out.set(this.#header);
        out.set(m, HEADER);
        return out;
      }),
      opts,
    );
  }

  protected async onClose(): Promise<void> {
    this.#onClose();
  }
}

export class SwitchConn<D> extends AbstractConn<D> {
  readonly switchStats: SwitchStats = { sent: 0, received: 0, dropped: 0 };
  readonly #base: Conn<Uint8Array>;
  readonly #drainMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #instances = new Map<number, Instance>();
  readonly #retired = new Set<number>();
  readonly #early = new Map<number, Uint8Array[]>();
  #earlyCount = 0;
  #current: Instance | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #started = false;

  readonly #onEnd: () => Promise<void>;

  /** `onEnd` runs once when the connection closes or its base goes away; `onError` hears failures of the layers below. */
  constructor(base: Conn<Uint8Array>, options: { drainMs: number; onError: (err: unknown) => void; onEnd: () => Promise<void> }) {
    super();
    this.#base = base;
    this.#drainMs = options.drainMs;
    this.#onError = options.onError;
    this.#onEnd = options.onEnd;
  }

  /** The epoch messages are sent with; `undefined` until `activate`. */
  get epoch(): number | undefined {
    return this.#current?.epoch;
  }

  /** Starts reading the base connection; until then what arrives waits in it. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#pumpBase();
    this.#sweep = setInterval(() => this.#retireIdle(), Math.max(10, this.#drainMs / 2));
    this.#sweep.unref();
  }

  /** Builds (once) the stack instance of `epoch`; from now on its messages are routed to it. */
  prepare(epoch: number, build: BuildInstance): Promise<Conn<unknown>> {
    this.assertOpen();
    const existing = this.#instances.get(epoch);
    if (existing !== undefined) return existing.ready;
    this.#retired.delete(epoch);
    const lower = new EpochConn(this.#base, epoch, () => {
      if (this.#instances.get(epoch)?.lower === lower) this.#instances.delete(epoch);
    });
    const inst: Instance = {
      epoch,
      lower,
      lastRx: Date.now(),
      retirable: false,
      ready: build(lower).then((top) => {
        inst.top = top;
        void this.#pumpTop(top);
        return top;
      }),
    };
    // A failed build is forgotten, not retired: it may be built again, and its messages wait meanwhile.
    inst.ready.catch(() => {
      if (this.#instances.get(epoch) === inst) this.#instances.delete(epoch);
      void inst.lower.close().catch(() => undefined);
    });
    this.#instances.set(epoch, inst);
    const early = this.#early.get(epoch);
    if (early !== undefined) {
      this.#early.delete(epoch);
      this.#earlyCount -= early.length;
      for (const m of early) lower.deliver(m);
    }
    return inst.ready;
  }

  has(epoch: number): boolean {
    return this.#instances.has(epoch);
  }

  /** Sends with `epoch` from now on; the previous instance drains and retires once idle. */
  async activate(epoch: number): Promise<void> {
    const inst = this.#instances.get(epoch);
    if (inst === undefined) throw new StackError(`epoch ${epoch} was not prepared or was discarded`);
    await inst.ready;
    const previous = this.#current;
    if (previous === inst) return;
    this.#current = inst;
    inst.retirable = false;
    if (previous !== undefined) {
      previous.retirable = true;
      previous.lastRx = Date.now();
    }
  }

  /** Drops an instance that was prepared but will not be used (its transition was rolled back). */
  discard(epoch: number): void {
    const inst = this.#instances.get(epoch);
    if (inst === undefined || inst === this.#current) return;
    this.#instances.delete(epoch);
    this.#retired.add(epoch);
    void this.#closeInstance(inst);
  }

  async sendBatch(msgs: readonly D[], opts?: CallOptions): Promise<void> {
    this.assertOpen();
    const inst = this.#current;
    if (inst?.top === undefined) throw new ConnClosedError('the rendezvous connection has no stack yet');
    this.switchStats.sent += msgs.length;
    this.stats.sent += msgs.length;
    await (inst.top as Conn<D>).sendBatch(msgs, opts);
  }

  protected async onClose(): Promise<void> {
    await this.#closeInstances();
    await this.#onEnd();
    await this.#base.close();
  }

  /** Ends this connection because its stack cannot go on: readers get `err`; the base is closed. */
  async fail(err: Error): Promise<void> {
    if (this.closed) return;
    this.ended(err);
    await this.#closeInstances();
    await this.#onEnd();
    await this.#base.close();
  }

  /** Ends this connection without touching the base (which was never read): for a join that failed. */
  async abandon(): Promise<void> {
    this.ended(new ConnClosedError('the join failed'));
    await this.#closeInstances();
  }

  async #closeInstances(): Promise<void> {
    clearInterval(this.#sweep);
    const all = [...this.#instances.values()];
    this.#instances.clear();
    this.#current = undefined;
    await Promise.all(all.map((i) => this.#closeInstance(i)));
  }

  async #closeInstance(inst: Instance): Promise<void> {
    const top = await inst.ready.catch(() => undefined);
    await (top ?? inst.lower).close().catch(() => undefined);
    await inst.lower.close().catch(() => undefined);
  }

  #route(msg: Uint8Array): void {
    if (msg.byteLength < HEADER || msg[0] !== VERSION) {
      this.switchStats.dropped++;
      return;
    }
    const epoch = new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(1);
    const payload = msg.subarray(HEADER);
    const inst = this.#instances.get(epoch);
    if (inst !== undefined) {
      inst.lastRx = Date.now();
      inst.lower.deliver(payload);
    } else if (this.#retired.has(epoch) || this.#earlyCount >= MAX_EARLY) {
      this.switchStats.dropped++;
    } else {
      let list = this.#early.get(epoch);
      if (list === undefined) this.#early.set(epoch, (list = []));
      list.push(payload);
      this.#earlyCount++;
    }
  }

  async #pumpBase(): Promise<void> {
    for (;;) {
      let msgs: Uint8Array[];
      try {
        msgs = await this.#base.recvBatch(64);
      } catch (err) {
        if (!(err instanceof ConnClosedError)) this.#onError(err);
        if (this.closed) return;
        this.ended(err instanceof ConnClosedError ? err : new ConnClosedError('the base connection failed', { cause: err }));
        await this.#closeInstances();
        await this.#onEnd();
        return;
      }
      for (const m of msgs) this.#route(m);
    }
  }

  async #pumpTop(top: Conn<unknown>): Promise<void> {
    for (;;) {
      let msgs: unknown[];
      try {
        msgs = await top.recvBatch(64);
      } catch (err) {
        if (!(err instanceof ConnClosedError)) this.#onError(err);
        return;
      }
      this.switchStats.received += msgs.length;
      this.stats.received += msgs.length;
      this.inbox.pushMany(msgs as D[]);
    }
  }

  #retireIdle(): void {
    const now = Date.now();
    for (const inst of this.#instances.values()) {
      // Only instances older than the current one retire; prepared ones wait for their commit or rollback.
      if (inst === this.#current || !inst.retirable || now - inst.lastRx < this.#drainMs) continue;
      this.#instances.delete(inst.epoch);
      this.#retired.add(inst.epoch);
      void this.#closeInstance(inst);
    }
  }
}
