/**
 * Rendezvous store in Redis, for endpoints in different processes or
 * machines. Every operation is one Lua script (atomic, server clock); changes
 * reach subscribers through keyspace notifications, or by polling where the
 * server does not allow enabling them.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { AbortError, BerthaError, DecodeError, throwIfAborted, type CallOptions } from '@bertha/core';
import { ACK, COMMIT, HEARTBEAT, INIT, LEAVE, STATE, TRANSITION } from './redis-lua.js';
import {
  DEFAULT_LEASE_MS,
  NotAMemberError,
  RoundError,
  StoreClosedError,
  StoreUnavailableError,
  validateLease,
  validateName,
  validateParticipants,
  validatePick,
  validateRound,
  type AckResult,
  type CommitOptions,
  type CommitResult,
  type InitResult,
  type RendezvousEvent,
  type RendezvousListener,
  type RendezvousState,
  type RendezvousStore,
  type RoundRef,
  type Subscription,
  type TransitionOutcome,
  type TransitionStart,
} from './store.js';

export interface RedisStoreOptions {
  /** Member lease (default 10 s). */
  readonly leaseMs?: number;
  /**
   * `auto` (default): enable keyspace notifications (CONFIG SET
   * notify-keyspace-events) and subscribe to them; poll if the server refuses.
   * `off`: always poll.
   */
  readonly notifications?: 'auto' | 'off';
  /** State polling period when notifications are unavailable, and delay before a failed re-read is retried (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** How long a call waits for a (re)connecting client before it rejects with `StoreUnavailableError` (default 1 s). */
  readonly readyTimeoutMs?: number;
  /** How long a call waits for Redis to answer before it rejects with `StoreUnavailableError` (default 1 s). */
  readonly commandTimeoutMs?: number;
}

/** Redis replied with an error that is not about availability (a bug, or a server that refuses scripts). */
export class StoreReplyError extends BerthaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_REPLY', `Redis refused a rendezvous operation: ${message}`, options);
  }
}

/**
 * A store over `redisOrUrl`. Given a URL, the store owns its client, which
 * fails calls fast while Redis is down and reconnects on its own. Given a
 * client, the store uses it as configured and leaves it open on `close()`.
 * Standalone Redis only (scripts derive keys from the name).
 */
export function redisStore(redisOrUrl: Redis | string, options: RedisStoreOptions = {}): RendezvousStore {
  return new RedisStore(redisOrUrl, options);
}

const CLIENT_OPTIONS: RedisOptions = {
  // Fail fast instead of queueing while Redis is away; never resend a script
  // whose effect is unknown after a disconnect.
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 1_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
};

const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

type Reply = unknown;
type ScriptName = 'init' | 'heartbeat' | 'state' | 'leave' | 'transition' | 'ack' | 'commit';
type ScriptFn = (key: string, ...args: Array<string | number | Buffer>) => Promise<Reply>;

interface Watcher {
  readonly name: string;
  readonly listeners: Set<RendezvousListener>;
  snapshot: RendezvousState | undefined;
  running: boolean;
  dirty: boolean;
  poll?: NodeJS.Timeout;
  /** Set while a failed refresh waits to be tried again. */
  retry?: NodeJS.Timeout;
}

class RedisStore implements RendezvousStore {
  readonly leaseMs: number;
  readonly #redis: Redis;
  readonly #owned: boolean;
  readonly #options: RedisStoreOptions;
  readonly #pollMs: number;
  readonly #scripts: Record<ScriptName, ScriptFn>;
  readonly #watchers = new Map<string, Watcher>();
  /** keyspace channel or pattern -> rendezvous name */
  readonly #channels = new Map<string, string>();
  #sub?: Redis;
  #push?: Promise<boolean>;
  #lastError?: Error;
  #closed = false;
  readonly #onError = (err: Error) => (this.#lastError = err);
  readonly #onReady = () => void this.#resync();

  constructor(redisOrUrl: Redis | string, options: RedisStoreOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    validateLease(this.leaseMs);
    this.#options = options;
    this.#pollMs = options.pollIntervalMs ?? 250;
    this.#owned = typeof redisOrUrl === 'string';
    this.#redis = typeof redisOrUrl === 'string' ? new Redis(redisOrUrl, CLIENT_OPTIONS) : redisOrUrl;
    // Without a listener ioredis logs every failed reconnect; keep the last for error messages.
    this.#redis.on('error', this.#onError).on('ready', this.#onReady);
    this.#scripts = {
      init: this.#define('berthaRvInit', INIT),
      heartbeat: this.#define('berthaRvHeartbeat', HEARTBEAT),
      state: this.#define('berthaRvState', STATE),
      leave: this.#define('berthaRvLeave', LEAVE),
      transition: this.#define('berthaRvTransition', TRANSITION),
      ack: this.#define('berthaRvAck', ACK),
      commit: this.#define('berthaRvCommit', COMMIT),
    };
  }

  async tryInit(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<InitResult> {
    validateName(name, member);
    validatePick(pick);
    // The generation id is used only if Redis holds nothing of the rendezvous (first use, or lost state).
    // randomUUID draws from a cache of entropy: a fraction of a µs, where randomBytes costs several.
    const generation = randomUUID();
    const [status, state] = asArray(await this.#run('init', options, name, member, Buffer.from(pick), this.leaseMs, generation));
    return { kind: text(status) === 'created' ? 'created' : 'existing', ...parseLiveState(state) };
  }

  async heartbeat(name: string, member: string, options?: CallOptions): Promise<RendezvousState> {
    validateName(name, member);
    const [status, state] = asArray(await this.#run('heartbeat', options, name, member, this.leaseMs));
    if (text(status) === 'not-member') throw new NotAMemberError(name, member);
    return parseLiveState(state);
  }

  async state(name: string, options?: CallOptions): Promise<RendezvousState | undefined> {
    validateName(name);
    return parseState(asArray(await this.#run('state', options, name))[1]);
  }

  async leave(name: string, member: string, options?: CallOptions): Promise<void> {
    validateName(name, member);
    await this.#run('leave', options, name, member);
  }

  async startTransition(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<TransitionStart> {
    validateName(name, member);
    validatePick(pick);
    const [status, reply] = asArray(await this.#run('transition', options, name, member, Buffer.from(pick), this.leaseMs));
    if (text(status) === 'not-member') throw new NotAMemberError(name, member);
    const state = parseLiveState(reply);
    if (state.pending === undefined) throw new DecodeError('Redis rendezvous script replied without a staged change');
    return text(status) === 'committer'
      ? { kind: 'committer', round: state.round, state }
      : { kind: 'in-progress', pending: state.pending, state };
  }

  async stageAck(name: string, member: string, ref: RoundRef, accept: boolean, options?: CallOptions): Promise<AckResult> {
    validateName(name, member);
    validateRound(ref);
    const [status, state] = asArray(await this.#run('ack', options, name, member, ref.generation, ref.round, accept ? '1' : '0', this.leaseMs));
    const kind = text(status);
    if (kind === 'not-member') throw new NotAMemberError(name, member);
    if (kind !== 'accepted' && kind !== 'refused' && kind !== 'stale') throw new DecodeError(`unexpected rendezvous reply "${kind}"`);
    return { kind, state: parseLiveState(state) };
  }

  async commitIfReady(name: string, member: string, ref: RoundRef, options?: CommitOptions): Promise<CommitResult> {
    validateName(name, member);
    validateRound(ref);
    validateParticipants(options?.participants);
    const { round } = ref;
    const args = [member, ref.generation, round, this.leaseMs, options?.participants ?? ''] as const;
    const [status, reply, kind, by, pick] = asArray(await this.#run('commit', options, name, ...args));
    switch (text(status)) {
      case 'not-member':
        throw new NotAMemberError(name, member);
      case 'not-committer':
        throw new RoundError(`only the committer "${text(kind)}" may commit round ${round} of "${name}"`);
      case 'waiting': {
        const state = parseLiveState(reply);
        return { kind: 'waiting', acked: state.pending?.acked.length ?? 0, participants: state.participants };
      }
      case 'outcome':
        return parseOutcome(round, kind, by, pick);
      default:
        throw new RoundError(
          `round ${round} of generation ${ref.generation} of "${name}" is not staged and its outcome is unknown (it never existed, ended long ago, or the store lost its state)`,
        );
    }
  }

  async subscribe(name: string, listener: RendezvousListener, options?: CallOptions): Promise<Subscription> {
    validateName(name);
    let watcher = this.#watchers.get(name);
    let created = false;
    if (watcher === undefined) {
      const w: Watcher = { name, listeners: new Set(), snapshot: await this.state(name, options), running: false, dirty: false };
      watcher = this.#watchers.get(name) ?? w;
      if (watcher === w) {
        this.#watchers.set(name, w);
        try {
          await this.#watch(w, options);
        } catch (err) {
          this.#unwatch(w);
          throw err;
        }
        created = true;
      }
    }
    const w = watcher;
    w.listeners.add(listener);
    // The snapshot was read before notifications flowed: report what changed meanwhile.
    if (created) void this.#refresh(w);
    const unsubscribe = async () => {
      options?.signal?.removeEventListener('abort', onAbort);
      w.listeners.delete(listener);
      if (w.listeners.size === 0 && this.#watchers.get(name) === w) this.#unwatch(w);
    };
    const onAbort = () => void unsubscribe();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    return { mode: w.poll === undefined ? 'push' : 'poll', unsubscribe };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#watchers.values()) {
      clearInterval(w.poll);
      clearTimeout(w.retry);
    }
    this.#watchers.clear();
    this.#sub?.disconnect();
    if (this.#owned) this.#redis.disconnect();
    else this.#redis.off('error', this.#onError).off('ready', this.#onReady);
  }

  #define(command: string, lua: string): ScriptFn {
    this.#redis.defineCommand(command, { lua, numberOfKeys: 1 });
    // ioredis adds `<command>Buffer`, which keeps bulk replies as Buffers: picks are binary.
    const fn = (this.#redis as unknown as Record<string, ScriptFn>)[`${command}Buffer`];
    if (fn === undefined) throw new Error(`ioredis did not define ${command}Buffer`);
    return fn.bind(this.#redis);
  }

  async #run(script: ScriptName, options: CallOptions | undefined, ...args: Parameters<ScriptFn>): Promise<Reply> {
    const fn = this.#scripts[script];
    return this.#call(this.#redis, () => fn(...args), options?.signal);
  }

  /** Runs `fn` once `client` is ready, bounded by the timeouts and `signal`, with errors made typed. */
  async #call<T>(client: Redis, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.#closed) throw new StoreClosedError();
    throwIfAborted(signal);
    await this.#ready(client, signal);
    const timeoutMs = this.#options.commandTimeoutMs ?? 1_000;
    try {
      return await bounded(fn(), timeoutMs, signal, () => this.#unavailable(`no reply within ${timeoutMs} ms`));
    } catch (err) {
      if (err instanceof BerthaError) throw err;
      if (this.#closed) throw new StoreClosedError();
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && err.name === 'ReplyError' && !UNAVAILABLE_REPLIES.test(message)) {
        throw new StoreReplyError(message, { cause: err });
      }
      throw this.#unavailable(message, err);
    }
  }

  /**
   * Waits for a client that is connecting right now (at most `readyTimeoutMs`);
   * rejects at once while it only waits to retry, so calls fail fast when Redis is down.
   */
  async #ready(client: Redis, signal: AbortSignal | undefined): Promise<void> {
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => undefined);
    else if (client.status !== 'connecting' && client.status !== 'connect') throw this.#unavailable('not connected');
    const timeoutMs = this.#options.readyTimeoutMs ?? 1_000;
    let onReady = () => {};
    let onClose = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onClose = () => reject(this.#unavailable('could not connect'));
      client.once('ready', onReady).once('close', onClose);
    });
    try {
      await bounded(ready, timeoutMs, signal, () => this.#unavailable(`not connected after ${timeoutMs} ms`));
    } finally {
      client.off('ready', onReady).off('close', onClose);
    }
  }

  #unavailable(what: string, cause: unknown = this.#lastError): StoreUnavailableError {
    const o = this.#redis.options;
    const where = o.path ?? `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
    const last = this.#lastError === undefined || cause !== this.#lastError ? '' : ` (${this.#lastError.message})`;
    return new StoreUnavailableError(
      `Redis at ${where} is unavailable: ${what}${last}. Check the Redis URL and that the server is running; the store reconnects by itself once it is back`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Starts delivering changes of `w.name`: keyspace notifications if the server allows them, else polling. */
  async #watch(w: Watcher, options: CallOptions | undefined): Promise<void> {
    if (await this.#enablePush(options)) {
      const sub = this.#subscriber();
      const { channel, pattern } = this.#keyspace(w.name);
      this.#channels.set(channel, w.name);
      this.#channels.set(pattern, w.name);
      await this.#call(sub, () => Promise.all([sub.subscribe(channel), sub.psubscribe(pattern)]), options?.signal);
    } else {
      w.poll = setInterval(() => void this.#refresh(w), this.#pollMs);
      w.poll.unref();
    }
  }

  #unwatch(w: Watcher): void {
    this.#watchers.delete(w.name);
    clearInterval(w.poll);
    clearTimeout(w.retry);
    const { channel, pattern } = this.#keyspace(w.name);
    this.#channels.delete(channel);
    this.#channels.delete(pattern);
    if (this.#sub?.status === 'ready') {
      this.#sub.unsubscribe(channel).catch(() => undefined);
      this.#sub.punsubscribe(pattern).catch(() => undefined);
    }
  }

  /** Channels of the rendezvous keys: `A` itself, and `A-*` for the others. */
  #keyspace(name: string): { channel: string; pattern: string } {
    const prefix = `__keyspace@${this.#redis.options.db ?? 0}__:${this.#redis.options.keyPrefix ?? ''}`;
    return { channel: prefix + name, pattern: `${escapeGlob(prefix + name)}-*` };
  }

  #subscriber(): Redis {
    if (this.#sub !== undefined) return this.#sub;
    const sub = this.#redis.duplicate({ ...CLIENT_OPTIONS, autoResubscribe: true });
    sub.on('error', this.#onError);
    sub.on('message', (channel: string) => this.#notified(channel));
    sub.on('pmessage', (pattern: string) => this.#notified(pattern));
    sub.on('ready', () => void this.#resync());
    return (this.#sub = sub);
  }

  /**
   * After a reconnect, once both connections are up: a restarted server has
   * forgotten the notification config, and changes may have been missed.
   */
  async #resync(): Promise<void> {
    if (this.#sub?.status !== 'ready' || this.#redis.status !== 'ready') return;
    this.#push = undefined;
    try {
      await this.#enablePush(undefined);
    } catch {
      return; // Down again: the next 'ready' retries.
    }
    for (const w of this.#watchers.values()) void this.#refresh(w);
  }

  #notified(channelOrPattern: string): void {
    const name = this.#channels.get(channelOrPattern);
    const w = name === undefined ? undefined : this.#watchers.get(name);
    if (w !== undefined) void this.#refresh(w);
  }

  /** Makes sure the server publishes the keyspace events we need; false if it will not. */
  #enablePush(options: CallOptions | undefined): Promise<boolean> {
    if (this.#options.notifications === 'off') return Promise.resolve(false);
    this.#push ??= this.#call(
      this.#redis,
      async () => {
        try {
          const [, flags = ''] = await this.#redis.config('GET', 'notify-keyspace-events');
          const missing = [...'K$zhsg'].filter((f) => !flags.includes(f) && !(flags.includes('A') && f !== 'K'));
          if (missing.length > 0) await this.#redis.config('SET', 'notify-keyspace-events', flags + missing.join(''));
          return true;
        } catch (err) {
          // Managed servers often forbid CONFIG: fall back to polling.
          if (err instanceof Error && err.name === 'ReplyError') return false;
          throw err;
        }
      },
      options?.signal,
    ).catch((err: unknown) => {
      this.#push = undefined;
      throw err;
    });
    return this.#push;
  }

  /** Re-reads the state and tells listeners what changed; overlapping triggers coalesce. */
  async #refresh(w: Watcher): Promise<void> {
    if (w.running) {
      w.dirty = true;
      return;
    }
    w.running = true;
    clearTimeout(w.retry);
    w.retry = undefined;
    try {
      do {
        w.dirty = false;
        const next = await this.state(w.name);
        const events = await this.#diff(w.name, w.snapshot, next);
        w.snapshot = next;
        for (const e of events) for (const listener of w.listeners) queueMicrotask(() => listener(e, next));
      } while (w.dirty && this.#watchers.get(w.name) === w);
    } catch {
      // A read that failed (Redis away, or just slow) must not lose the change that triggered it.
      if (!this.#closed && this.#watchers.get(w.name) === w) {
        w.retry = setTimeout(() => void this.#refresh(w), this.#pollMs);
        w.retry.unref();
      }
    } finally {
      w.running = false;
    }
  }

  async #diff(name: string, prev: RendezvousState | undefined, next: RendezvousState | undefined): Promise<RendezvousEvent[]> {
    const events: RendezvousEvent[] = [];
    const before = new Set(prev?.members);
    const after = new Set(next?.members);
    for (const member of after) if (!before.has(member)) events.push({ type: 'joined', member });
    for (const member of before) if (!after.has(member)) events.push({ type: 'left', member });
    // Rounds that ended between the two reads (odd rounds from prev's, below next's); at most a few.
    // Rounds of another generation are not comparable: a new generation's state speaks for itself.
    const generation = next?.generation ?? prev?.generation;
    if (prev !== undefined && generation === prev.generation) {
      const first = prev.round % 2 === 1 ? prev.round : prev.round + 1;
      const end = next === undefined ? first + 1 : next.round;
      for (let r = Math.max(first, end - 8); r < end; r += 2) {
        const outcome = await this.#outcome(name, generation, r);
        if (outcome?.kind === 'committed') events.push({ type: 'committed', round: outcome.round, pick: outcome.pick });
        else if (outcome !== undefined) events.push({ type: 'rolled-back', round: outcome.round, reason: outcome.reason, by: outcome.by });
      }
    }
    const p = next?.pending;
    if (p !== undefined) {
      const sameRound = prev?.generation === next?.generation && prev?.pending?.round === p.round;
      if (!sameRound) events.push({ type: 'staged', round: p.round, pick: p.pick, committer: p.committer });
      const known = new Set(sameRound ? prev?.pending?.acked : [p.committer]);
      for (const member of p.acked) if (!known.has(member)) events.push({ type: 'acked', round: p.round, member });
    }
    return events;
  }

  async #outcome(name: string, generation: string, round: number): Promise<TransitionOutcome | undefined> {
    const key = `${name}-${generation}-${round}-outcome`;
    const [kind, by, pick] = await this.#call(this.#redis, () => this.#redis.hmgetBuffer(key, 'kind', 'by', 'pick'), undefined);
    return kind === null || kind === undefined ? undefined : parseOutcome(round, kind, by, pick);
  }
}

/** Settles with `promise`, or rejects on timeout (with `onTimeout()`) or abort. */
function bounded<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(onTimeout())), timeoutMs);
    const onAbort = () => finish(() => reject(new AbortError(signal?.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(settle: () => void) {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    promise.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function asArray(reply: Reply): Reply[] {
  if (!Array.isArray(reply)) throw new DecodeError('Redis rendezvous script replied with something other than an array');
  return reply as Reply[];
}

function text(reply: Reply): string {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'string') return reply;
  throw new DecodeError('Redis rendezvous script replied with a non-string where a string belongs');
}

function bytes(reply: Reply): Uint8Array {
  // A plain copy: the same type the memory store gives, not a view into ioredis' read buffer.
  if (Buffer.isBuffer(reply)) return new Uint8Array(reply);
  throw new DecodeError('Redis rendezvous script replied with a non-string where a pick belongs');
}

function texts(reply: Reply): string[] {
  return asArray(reply).map(text);
}

function parseState(reply: Reply): RendezvousState | undefined {
  if (reply === null || reply === undefined) return undefined;
  const [generation, pick, round, members, stagedPick, committer, acked] = asArray(reply);
  if (typeof round !== 'number') throw new DecodeError('Redis rendezvous script replied with a non-integer round');
  const list = texts(members);
  const base = { generation: text(generation), pick: bytes(pick), round, participants: list.length, members: list };
  if (stagedPick === null || stagedPick === undefined) return base;
  return { ...base, pending: { round, pick: bytes(stagedPick), committer: text(committer), acked: texts(acked) } };
}

/** A state that must exist: the caller is a live member. */
function parseLiveState(reply: Reply): RendezvousState {
  const state = parseState(reply);
  if (state === undefined) throw new DecodeError('Redis rendezvous script replied without a state for a live member');
  return state;
}

function parseOutcome(staged: number, kind: Reply, by: Reply, pick: Reply): TransitionOutcome {
  const k = text(kind);
  if (k === 'committed') return { kind: 'committed', round: staged + 1, pick: bytes(pick) };
  return { kind: 'rolled-back', round: staged + 1, reason: k === 'refused' ? 'refused' : 'abandoned', by: text(by) };
}
