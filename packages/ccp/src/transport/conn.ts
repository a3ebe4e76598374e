/**
 * The transport as a Chunnel: `ccpTransport(opts)` turns a datagram
 * `Conn<Uint8Array>` (UDP, a lossy in-memory link) into a reliable,
 * congestion-controlled, message-preserving `Conn<Uint8Array>`. Both ends
 * run a sender and a receiver; packets are told apart by their first byte.
 */
import { AbortError, AbstractConn, type CallOptions, type Capability, type ChunnelWithConn, type Conn, ConnClosedError, type QueueSink, throwIfAborted, twoSided } from '@bertha/core';
import { realClock, type Clock } from './clock.js';
import { createCcpHost, type CcpHost } from './ccp-host.js';
import { PeerUnreachableError, UnacknowledgedDataError } from './errors.js';
import { resolveOptions, type ResolvedTransportOptions, type TransportOptions } from './options.js';
import { TransportReceiver, type ReceiverStats } from './receiver.js';
import { TransportSender, type SenderControl, type SenderStats } from './sender.js';
import { ACK_TYPE, DATA_TYPE } from './wire.js';

export interface CcpTransportOptions extends TransportOptions {
  /** Default `realClock()`. */
  readonly clock?: Clock;
  /** `sendBatch` waits while more than this many bytes are queued unsent. Default 4 MiB. */
  readonly sendBufferBytes?: number;
  /**
   * How long `close()` waits for sent data to be acknowledged, µs; past it,
   * `close()` rejects with `UnacknowledgedDataError` (the conn is closed
   * anyway). 0: close at once and discard it silently (an abortive close).
   * Default 2 s.
   */
  readonly lingerUs?: number;
}

export interface CcpTransportStats {
  readonly sender: Readonly<SenderStats>;
  readonly receiver: Readonly<ReceiverStats>;
  /** Packets from below that were neither DATA nor ACK. */
  readonly unknownPackets: number;
}

const PUMP_BATCH = 256;
/**
 * Packets handed to the sender's socket but not yet accepted by it: beyond
 * this the sender waits (as TCP small queues do in Linux), so a window larger
 * than the socket can drain does not pile up here as self-inflicted delay.
 */
const LOCAL_QUEUE_PACKETS = 512;

/** A reliable, congestion-controlled message connection over a datagram Conn. */
export class CcpTransportConn extends AbstractConn<Uint8Array> {
  readonly sender: TransportSender;
  readonly receiver: TransportReceiver;
  readonly #inner: Conn<Uint8Array>;
  readonly #sendBuffer: number;
  readonly #lingerUs: number;
  readonly #clock: Clock;
  readonly #release: () => Promise<void>;
  #out: Uint8Array[] = [];
  /** Packets of the batch being sent by the connection below. */
  #sending = 0;
  #flushing = false;
  #unknown = 0;
  #waiters: (() => void)[] = [];
  #failed: Error | undefined;
  /** The running `#flush`, awaited by `close()` so a last ACK leaves before the socket closes. */
  #flushed: Promise<void> | undefined;

  constructor(inner: Conn<Uint8Array>, clock: Clock, control: SenderControl, o: ResolvedTransportOptions, opts: CcpTransportOptions, release: () => Promise<void>) {
    super();
    this.#inner = inner;
    this.#clock = clock;
    this.#sendBuffer = opts.sendBufferBytes ?? 4 * 1024 * 1024;
    this.#lingerUs = opts.lingerUs ?? 2_000_000;
    this.#release = release;
    const transmit = (p: Uint8Array): void => this.#queueOut(p);
    const blocked = (): boolean => this.#out.length + this.#sending >= LOCAL_QUEUE_PACKETS;
    this.sender = new TransportSender(clock, transmit, control, o, { onSample: opts.onSample, blocked });
    this.receiver = new TransportReceiver(clock, transmit, o, (msg) => {
      this.stats.received++;
      this.inbox.push(msg);
    });
    this.sender.onProgress = () => this.#wake();
    this.sender.onFailure = (err) => this.#die(err);
    const unreachable = (inner as Partial<{ unreachable: AbortSignal }>).unreachable;
    if (unreachable !== undefined) {
      const onUnreachable = (): void => this.#die(new PeerUnreachableError('its address reports nothing listening', this.sender.unackedBytes, { cause: unreachable.reason }));
      if (unreachable.aborted) onUnreachable();
      else unreachable.addEventListener('abort', onUnreachable, { once: true });
    }
    this.#listen();
  }

  get transportStats(): CcpTransportStats {
    return { sender: this.sender.stats, receiver: this.receiver.stats, unknownPackets: this.#unknown };
  }

  async sendBatch(msgs: readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    throwIfAborted(opts?.signal);
    this.#assertUsable();
    // Copied: the sender holds messages until they are acknowledged, and callers may reuse their buffers.
    // One allocation for the batch, not one per message (each a backing store to allocate and
    // finalise), and not zeroed: every byte is overwritten.
    let total = 0;
    for (const m of msgs) total += m.byteLength;
    const copy = Buffer.allocUnsafe(total);
    let off = 0;
    const views = msgs.map((m) => {
      copy.set(m, off);
      const v = new Uint8Array(copy.buffer, copy.byteOffset + off, m.byteLength);
      off += m.byteLength;
      return v;
    });
    this.sender.writeBatch(views);
    this.stats.sent += msgs.length;
    while (this.sender.pendingBytes > this.#sendBuffer) {
      await this.#progress(opts?.signal);
      this.#assertUsable();
    }
  }

  #assertUsable(): void {
    const failed = this.#failed;
    if (failed !== undefined) throw failed;
    this.assertOpen();
  }

  protected async onClose(): Promise<void> {
    const deadline = this.#clock.now() + this.#lingerUs;
    while (!this.sender.idle && this.#failed === undefined && this.#clock.now() < deadline) {
      await Promise.race([this.#progress(), new Promise<void>((r) => this.#clock.setTimer(Math.max(0, deadline - this.#clock.now()), r))]);
    }
    // lingerUs 0 asks for an abortive close: what is unacknowledged is discarded without a report.
    const unacked = this.#failed === undefined && this.#lingerUs > 0 ? this.sender.unackedBytes : 0;
    // A reader that closes right after its last read still owes the sender an ACK for it.
    this.receiver.flushAck();
    await this.#shutDown();
    // The peer died while we lingered: that is the report.
    if (this.#failed instanceof PeerUnreachableError && this.#failed.unackedBytes > 0) throw this.#failed;
    if (unacked > 0) throw new UnacknowledgedDataError(unacked, this.#lingerUs);
  }

  async #shutDown(): Promise<void> {
    this.sender.close();
    this.receiver.close();
    await this.#flushed;
    await this.#inner.close();
    this.#wake();
    await this.#release();
  }

  /** The peer is gone: pending and later calls fail with `err`, received messages stay readable. */
  #die(err: PeerUnreachableError): void {
    if (this.#failed !== undefined) return;
    this.#failed = err;
    this.#wake(); // a lingering close() ends now, and reports it
    if (this.closed) return;
    this.ended(err);
    this.#shutDown().catch(() => undefined);
  }

  #progress(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortError(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #queueOut(p: Uint8Array): void {
    this.#out.push(p);
    if (!this.#flushing) {
      this.#flushing = true;
      this.#flushed = Promise.resolve().then(() => this.#flush());
    }
  }

  /** One `sendBatch` at a time keeps packets in order; packets queued meanwhile go in the next one. */
  async #flush(): Promise<void> {
    while (this.#out.length > 0 && !this.#inner.closed) {
      const batch = this.#out;
      this.#out = [];
      this.#sending = batch.length;
      try {
        await this.#inner.sendBatch(batch);
      } catch (err) {
        if (!(err instanceof ConnClosedError)) this.#failed = err instanceof Error ? err : new Error(String(err));
        break;
      } finally {
        this.#sending = 0;
      }
      // The socket took the batch: send what waited for room (it lands in #out for the next round).
      this.sender.resume();
    }
    this.#out = [];
    this.#flushing = false;
  }

  /**
   * Dispatches each packet from below as it arrives: diverted from an
   * AbstractConn (every base connection is one), with no promise or array
   * per packet; read in batches from any other Conn.
   */
  #listen(): void {
    const inner = this.#inner;
    if (inner instanceof AbstractConn) {
      const sink: QueueSink<Uint8Array> = { onMessage: (m) => this.#onPacket(m), onEnd: (err) => this.#innerEnded(err) };
      inner.divert(sink);
      return;
    }
    void (async () => {
      for (;;) {
        let msgs: Uint8Array[];
        try {
          msgs = await inner.recvBatch(PUMP_BATCH);
        } catch (err) {
          this.#innerEnded(err);
          return;
        }
        for (const m of msgs) this.#onPacket(m);
      }
    })();
  }

  #onPacket(m: Uint8Array): void {
    const t = m[0];
    if (t === DATA_TYPE) this.receiver.onPacket(m);
    else if (t === ACK_TYPE) this.sender.onAck(m);
    else this.#unknown++;
  }

  #innerEnded(err: unknown): void {
    this.#wake();
    if (!this.closed) this.ended(err instanceof ConnClosedError ? err : new ConnClosedError('the connection below failed: open a new connection', { cause: err }));
  }
}

export type CcpTransportChunnel = ChunnelWithConn<Uint8Array, Uint8Array, 'ccp', CcpTransportConn>;

const capabilities: readonly Capability[] = [twoSided('transport', 'ccp')];

/**
 * The CCP transport Chunnel. Without `cc.host`, each Chunnel instance makes
 * one CCP host (datapath runtime + agent link) on first use, shared by its
 * connections and closed with the last of them.
 */
export function ccpTransport(opts: CcpTransportOptions = {}): CcpTransportChunnel {
  const o = resolveOptions(opts);
  const clock = opts.clock ?? realClock({ unref: true });
  const cc = opts.cc ?? { kind: 'ccp' as const };
  let shared: Promise<CcpHost> | undefined;
  let users = 0;
  const acquire = async (): Promise<{ control: SenderControl; release: () => Promise<void> }> => {
    if (cc.kind === 'native') return { control: cc, release: async () => {} };
    const algorithm = cc.algorithm ?? 'reno';
    if (cc.host !== undefined) return { control: { kind: 'ccp', host: cc.host, algorithm }, release: async () => {} };
    users++;
    const pending = (shared ??= createCcpHost({ ...cc, clock }));
    let host: CcpHost;
    try {
      host = await pending;
    } catch (err) {
      users--;
      if (shared === pending) shared = undefined;
      throw err;
    }
    return {
      control: { kind: 'ccp', host, algorithm },
      release: async () => {
        if (--users > 0) return;
        shared = undefined;
        await host.close();
      },
    };
  };
  return {
    name: 'ccp',
    capabilities: () => capabilities,
    async connectWrap(inner) {
      const { control, release } = await acquire();
      return new CcpTransportConn(inner, clock, control, o, opts, release);
    },
  };
}
