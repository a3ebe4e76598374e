/**
 * Redis Streams over ioredis. One stream per queue; a receiver name is a
 * consumer group (receivers of one group compete, each group gets every
 * entry: fan-out). An entry is `b` → body bytes, optionally `g` → group.
 * Delivery is at least once: a received entry stays in the group's pending
 * list until XACK; one a crashed consumer held is taken over with XAUTOCLAIM
 * once it has been idle for `leaseMs`, and `extend` resets the idle time of
 * held entries (XCLAIM … JUSTID). Competing consumers and take-overs do not
 * keep a group's order: ordering is `none`.
 */
import type { Redis } from 'ioredis';
import type { IncomingMessage, OutgoingMessage, QueueDriver } from '../driver.js';
import { QueueAuthError, QueueError, QueueNotFoundError, QueueUnavailableError } from '../errors.js';
import type { QueueLimits } from '../semantics.js';

const SERVICE = 'redis-streams';
const BODY = 'b';
const GROUP = 'g';

type Entry = [id: Buffer, fields: Buffer[] | null];
/** XREADGROUP's reply for one stream: `[[name, entries]]`, which ioredis 6 may give unwrapped as `[name, entries]`. */
type StreamsReply = [Buffer, Entry[]] | [Buffer, Entry[]][] | null;

function entriesOf(res: StreamsReply): Entry[] {
  if (res === null || res.length === 0) return [];
  const first = res[0];
  return Buffer.isBuffer(first) ? (res[1] as Entry[]) : (first as [Buffer, Entry[]])[1];
}

export interface RedisStreamsDriverOptions {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly leaseMs: number;
  readonly limits: QueueLimits;
  /** Trim the stream to about this many entries on each send (XADD MAXLEN ~). */
  readonly maxLen: number | undefined;
}

export class RedisStreamsDriver implements QueueDriver<string> {
  readonly service = SERVICE;
  readonly semantics = { ordering: 'none', fanOut: true } as const;
  readonly limits: QueueLimits;
  readonly leaseMs: number;
  readonly #client: Redis;
  /** Blocking reads get their own connection so that sends and acks do not wait behind them. */
  readonly #reader: Redis;
  readonly #o: RedisStreamsDriverOptions;
  readonly #owns: boolean;
  #lastClaim = 0;

  constructor(client: Redis, reader: Redis, o: RedisStreamsDriverOptions, owns: boolean) {
    this.#client = client;
    this.#reader = reader;
    this.#o = o;
    this.limits = o.limits;
    this.leaseMs = o.leaseMs;
    this.#owns = owns;
  }

  size(msg: OutgoingMessage): number {
    return msg.body.byteLength + (msg.group === undefined ? 0 : Buffer.byteLength(msg.group));
  }

  async send(msgs: readonly OutgoingMessage[]): Promise<readonly string[]> {
    // One pipeline is one round trip: one call.
    const p = this.#client.pipeline();
    const trim = this.#o.maxLen === undefined ? [] : ['MAXLEN', '~', String(this.#o.maxLen)];
    for (const m of msgs) {
      const fields: (string | Buffer)[] = [BODY, Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength)];
      if (m.group !== undefined) fields.push(GROUP, m.group);
      p.call('XADD', this.#o.stream, ...trim, '*', ...fields);
    }
    for (const [err] of (await p.exec()) ?? []) if (err !== null) throw err;
    return [];
  }

  async receive(max: number, waitMs: number, signal: AbortSignal): Promise<IncomingMessage<string>[]> {
    const now = performance.now();
    if (now - this.#lastClaim >= this.leaseMs / 2) {
      // Take over what a crashed consumer held for longer than the lease.
      this.#lastClaim = now;
      const res = (await this.#client.callBuffer('XAUTOCLAIM', this.#o.stream, this.#o.group, this.#o.consumer, String(this.leaseMs), '0-0', 'COUNT', String(max))) as [
        Buffer,
        Entry[],
        unknown?,
      ];
      const claimed = res[1].filter((e) => e[1] !== null);
      if (claimed.length > 0) return claimed.map((e) => this.#decode(e, 2));
    }
    const abort = () => this.#reader.disconnect();
    signal.addEventListener('abort', abort, { once: true });
    try {
      const res = (await this.#reader.callBuffer(
        'XREADGROUP',
        'GROUP',
        this.#o.group,
        this.#o.consumer,
        'COUNT',
        String(max),
        'BLOCK',
        String(Math.max(1, waitMs)),
        'STREAMS',
        this.#o.stream,
        '>',
      )) as StreamsReply;
      return entriesOf(res).map((e) => this.#decode(e, 1));
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  #decode([idBuf, fields]: Entry, attempt: number): IncomingMessage<string> {
    const id = idBuf.toString();
    const f = new Map<string, Buffer>();
    for (let i = 0; fields !== null && i + 1 < fields.length; i += 2) f.set((fields[i] as Buffer).toString(), fields[i + 1] as Buffer);
    const body = f.get(BODY);
    const group = f.get(GROUP)?.toString();
    if (body === undefined) {
      const raw = JSON.stringify(Object.fromEntries([...f].map(([k, v]) => [k, v.toString()])));
      return { handle: id, id, body: undefined, undecodable: { raw, reason: `entry has no '${BODY}' field: another producer wrote it` }, group, attempt };
    }
    return { handle: id, id, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), group, attempt };
  }

  async ack(handles: readonly string[]): Promise<void> {
    await this.#client.xack(this.#o.stream, this.#o.group, ...handles);
  }

  async extend(handles: readonly string[]): Promise<void> {
    // XCLAIM to ourselves resets the idle time, so XAUTOCLAIM elsewhere leaves them.
    await this.#client.call('XCLAIM', this.#o.stream, this.#o.group, this.#o.consumer, '0', ...handles, 'JUSTID');
  }

  async release(handles: readonly string[]): Promise<void> {
    // Marks them idle for a whole lease: the next XAUTOCLAIM of any consumer takes them.
    await this.#client.call('XCLAIM', this.#o.stream, this.#o.group, this.#o.consumer, '0', ...handles, 'IDLE', String(this.leaseMs), 'JUSTID');
  }

  classify(err: unknown): QueueError {
    return classifyRedisError(err, this.#o.stream, this.#o.group);
  }

  async close(): Promise<void> {
    this.#reader.disconnect();
    if (this.#owns) this.#client.disconnect();
  }
}

export function classifyRedisError(err: unknown, stream: string, group: string): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { message?: string; code?: string };
  const msg = e.message ?? String(err);
  if (msg.startsWith('NOGROUP')) return new QueueNotFoundError(SERVICE, `stream '${stream}' or its consumer group '${group}'`, { cause: err });
  if (msg.startsWith('NOAUTH') || msg.startsWith('WRONGPASS') || msg.startsWith('NOPERM')) return new QueueAuthError(SERVICE, msg, { cause: err });
  if (
    msg.includes('Connection is closed') ||
    msg.includes('ECONNREFUSED') ||
    msg.startsWith('LOADING') ||
    msg.startsWith('BUSY') ||
    msg.startsWith('TRYAGAIN') ||
    msg.includes('max retries') ||
    e.code === 'ECONNREFUSED' ||
    e.code === 'ECONNRESET'
  ) {
    return new QueueUnavailableError(SERVICE, msg, { cause: err });
  }
  return new QueueError('ERR_QUEUE_SERVICE', SERVICE, msg, { cause: err });
}
