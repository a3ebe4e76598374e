/**
 * Rendezvous store in Redis or Redis Cluster, for endpoints in different
 * processes or machines. Every operation is one Lua script (atomic, server
 * clock) on the keys of one hash slot (redis-keys.ts); the scripts announce
 * each change on the slot's sharded pub/sub channel, which subscribers hear
 * from the node that owns the slot (ioredis follows the slot when it moves),
 * or the state is polled where pub/sub is refused.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { AbortError, BerthaError, DecodeError, throwIfAborted, type CallOptions } from '@bertha/core';
import { eventsChannel, rendezvousKey } from './redis-keys.js';
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
   * `auto` (default): subscribe to the changes the scripts publish (sharded
   * pub/sub on Redis 7, plain pub/sub before); poll if the server refuses.
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

/** An ioredis client the store runs on: one server (`Redis`) or a Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

/** Where the store connects: a client, a `redis://` URL, or the seed nodes of a Redis Cluster. */
export type RedisTarget = RedisClient | string | { readonly cluster: readonly ClusterNode[] };

/**
 * A store over `target`. Given a URL or cluster nodes, the store owns its
 * client, which fails calls fast while Redis is down (or a cluster fails
 * over) and reconnects on its own. Given a client (`Redis`, or `Cluster` for
 * Redis Cluster), the store uses it as configured and leaves it open on
 * `close()`.
 */
export function redisStore(target: RedisTarget, options: RedisStoreOptions = {}): RendezvousStore {
  return new RedisStore(target, options);
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

/** The same for each node of a cluster. */
const CLUSTER_OPTIONS: ClusterOptions = {
  enableOfflineQueue: false,
  clusterRetryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
  redisOptions: { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0, connectTimeout: 1_000 },
};

/**
 * How often the store refreshes the slot map of the clusters it owns, to
 * follow failovers. Not ioredis' `slotsRefreshInterval`: a refresh in flight
 * when the client disconnects re-arms that timer for good, which keeps the
 * process alive after `close()`.
 */
const SLOTS_REFRESH_MS = 1_000;

const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

type Reply = unknown;
type ScriptName = 'init' | 'heartbeat' | 'state' | 'leave' | 'transition' | 'ack' | 'commit';
type ScriptFn = (key: string, ...args: Array<string | number | Buffer>) => Promise<Reply>;

/**
 * The last change of a rendezvous this store saw (its generation, sequence
 * number and id), told to every script so that the store can tell when it
 * lost it; and the state as of that change, if a pruning script read it.
 */
interface View {
  generation: string;
  seq: number;
  id: string;
  state?: RendezvousState;
  /** The live member list as of its version `mseq`, so that replies need not repeat it. */
  members?: Members;
}

interface Members {
  readonly mseq: number;
  readonly list: readonly string[];
}

/** A script's reply: status, the change it reflects, its body (usually the state), extras. */
interface Answer {
  readonly status: string;
  /** The member list the call told the script it holds. */
  readonly held: Members | undefined;
  /** The change the reply reflects (no generation: the store holds nothing of the rendezvous). */
  readonly generation: string | undefined;
  readonly seq: number;
  readonly body: Reply;
  readonly extra: Reply[];
}

interface Watcher {
  readonly name: string;
  readonly channel: string;
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
  readonly #redis: RedisClient;
  readonly #owned: boolean;
  readonly #options: RedisStoreOptions;
  readonly #pollMs: number;
  readonly #scripts: Record<ScriptName, ScriptFn>;
  readonly #watchers = new Map<string, Watcher>();
  /** events channel (as the server names it, with any key prefix) -> rendezvous name */
  readonly #channels = new Map<string, string>();
  readonly #views = new Map<string, View>();
  readonly #waiting = new WeakMap<RedisClient, Promise<void>>();
  /** The seq of the change each state read reflects. */
  readonly #seqOf = new WeakMap<RendezvousState, number>();
  #sub?: RedisClient;
  #slotsTimer?: NodeJS.Timeout;
  /** Whether the server has sharded pub/sub (Redis 7); decided by the first subscription. */
  #sharded?: boolean;
  #lastError?: Error;
  #closed = false;
  readonly #onError = (err: Error) => (this.#lastError = err);
  readonly #onReady = () => void this.#resync();

  constructor(target: RedisTarget, options: RedisStoreOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    validateLease(this.leaseMs);
    this.#options = options;
    this.#pollMs = options.pollIntervalMs ?? 250;
    const given = target instanceof Redis || target instanceof Cluster ? target : undefined;
    this.#owned = given === undefined;
    this.#redis =
      given ?? (typeof target === 'string' ? new Redis(target, CLIENT_OPTIONS) : new Cluster([...(target as { cluster: readonly ClusterNode[] }).cluster], CLUSTER_OPTIONS));
    // Without a listener ioredis logs every failed reconnect; keep the last for error messages.
    this.#redis.on('error', this.#onError).on('ready', this.#onReady);
    if (this.#redis instanceof Cluster) {
      this.#slotsTimer = setInterval(() => {
        for (const c of [this.#owned ? this.#redis : undefined, this.#sub]) if (c instanceof Cluster && c.status === 'ready') c.refreshSlotsCache();
      }, SLOTS_REFRESH_MS);
      this.#slotsTimer.unref();
    }
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
    const answer = await this.#run('init', options, name, member, Buffer.from(pick), this.leaseMs);
    return { kind: answer.status === 'created' ? 'created' : 'existing', ...this.#live(name, answer) };
  }

  async heartbeat(name: string, member: string, options?: CallOptions): Promise<RendezvousState> {
    validateName(name, member);
    // A renewal that changed nothing replies `same`: the reply does not grow with the group.
    const held = this.#views.get(name)?.state;
    const heldSeq = held === undefined ? '' : this.#seqOf.get(held)!;
    const answer = await this.#run('heartbeat', options, name, member, this.leaseMs, heldSeq);
    if (answer.status === 'not-member') throw new NotAMemberError(name, member);
    return answer.status === 'same' && held !== undefined ? held : this.#live(name, answer);
  }

  async state(name: string, options?: CallOptions): Promise<RendezvousState | undefined> {
    validateName(name);
    return this.#parse(name, await this.#run('state', options, name), false);
  }

  async leave(name: string, member: string, options?: CallOptions): Promise<void> {
    validateName(name, member);
    await this.#run('leave', options, name, member);
  }

  async startTransition(name: string, member: string, pick: Uint8Array, options?: CallOptions): Promise<TransitionStart> {
    validateName(name, member);
    validatePick(pick);
    const answer = await this.#run('transition', options, name, member, Buffer.from(pick), this.leaseMs);
    const { status } = answer;
    if (status === 'not-member') throw new NotAMemberError(name, member);
    const state = this.#live(name, answer);
    if (state.pending === undefined) throw new DecodeError('Redis rendezvous script replied without a staged change');
    return status === 'committer' ? { kind: 'committer', round: state.round, state } : { kind: 'in-progress', pending: state.pending, state };
  }

  async stageAck(name: string, member: string, ref: RoundRef, accept: boolean, options?: CallOptions): Promise<AckResult> {
    validateName(name, member);
    validateRound(ref);
    const answer = await this.#run('ack', options, name, member, ref.generation, ref.round, accept ? '1' : '0', this.leaseMs);
    const { status } = answer;
    if (status === 'not-member') throw new NotAMemberError(name, member);
    if (status !== 'accepted' && status !== 'refused' && status !== 'stale') throw new DecodeError(`unexpected rendezvous reply "${status}"`);
    return { kind: status, state: this.#live(name, answer) };
  }

  async commitIfReady(name: string, member: string, ref: RoundRef, options?: CommitOptions): Promise<CommitResult> {
    validateName(name, member);
    validateRound(ref);
    validateParticipants(options?.participants);
    const { round } = ref;
    const args = [member, ref.generation, round, this.leaseMs, options?.participants ?? ''] as const;
    const answer = await this.#run('commit', options, name, ...args);
    const { body, extra } = answer;
    switch (answer.status) {
      case 'not-member':
        throw new NotAMemberError(name, member);
      case 'not-committer':
        throw new RoundError(`only the committer "${text(body)}" may commit round ${round} of "${name}"`);
      case 'waiting': {
        const state = this.#live(name, answer);
        return { kind: 'waiting', acked: state.pending?.acked ?? 0, participants: state.participants };
      }
      case 'outcome':
        this.#parse(name, answer, true);
        return parseOutcome(round, extra[0], extra[1], extra[2]);
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
      const channel = eventsChannel(rendezvousKey(name));
      const w: Watcher = { name, channel, listeners: new Set(), snapshot: await this.state(name, options), running: false, dirty: false };
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
    clearInterval(this.#slotsTimer);
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

  /** Runs a script on rendezvous `name`, telling it the last change this store saw, and records the change it reflects. */
  async #run(script: ScriptName, options: CallOptions | undefined, name: string, ...args: Array<string | number | Buffer>): Promise<Answer> {
    const fn = this.#scripts[script];
    const view = this.#views.get(name);
    const held = view?.members;
    const seen = [view?.generation ?? '', view?.seq ?? 0, view?.id ?? '', randomUUID(), held?.mseq ?? ''];
    const reply = asArray(await this.#call(this.#redis, () => fn(rendezvousKey(name), ...seen, ...args), options?.signal));
    const [status, gen, seq, id, body, ...extra] = reply;
    const generation = gen === null || gen === undefined ? undefined : text(gen);
    if (generation === undefined || typeof seq !== 'number') return { status: text(status), held, generation: undefined, seq: 0, body, extra };
    const latest = this.#views.get(name);
    // Replies of concurrent calls may arrive out of order: keep the latest change.
    if (latest === undefined || latest.generation !== generation || seq > latest.seq) {
      this.#views.set(name, { generation, seq, id: text(id), members: latest?.generation === generation ? latest.members : undefined });
    }
    return { status: text(status), held, generation, seq, body, extra };
  }

  /**
   * The state in a reply, remembered as the state of the change it reflects
   * when a script that prunes expired members read it (`current`), so that a
   * heartbeat that changed nothing can reuse it.
   */
  #parse(name: string, answer: Answer, current: boolean, body: Reply = answer.body): RendezvousState | undefined {
    if (answer.generation === undefined) return undefined;
    const parsed = parseState(answer.generation, body, answer.held);
    if (parsed === undefined) return undefined;
    const { state, members } = parsed;
    this.#seqOf.set(state, answer.seq);
    const view = this.#views.get(name);
    if (view?.generation === answer.generation && (view.members === undefined || members.mseq > view.members.mseq)) view.members = members;
    if (current && view?.generation === answer.generation && view.seq === answer.seq) view.state = state;
    return state;
  }

  /** A state that must exist: the caller is a live member. */
  #live(name: string, answer: Answer, body?: Reply): RendezvousState {
    const state = this.#parse(name, answer, true, body);
    if (state === undefined) throw new DecodeError('Redis rendezvous script replied without a state for a live member');
    return state;
  }

  /** Runs `fn` once `client` is ready, bounded by the timeouts and `signal`, with errors made typed. */
  async #call<T>(client: RedisClient, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
  async #ready(client: RedisClient, signal: AbortSignal | undefined): Promise<void> {
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => undefined);
    else if (client.status !== 'connecting' && client.status !== 'connect') throw this.#unavailable('not connected');
    const timeoutMs = this.#options.readyTimeoutMs ?? 1_000;
    await bounded(this.#connecting(client), timeoutMs, signal, () => this.#unavailable(`not connected after ${timeoutMs} ms`));
  }

  /** Settles when `client` is ready or closes; one pair of listeners however many calls wait. */
  #connecting(client: RedisClient): Promise<void> {
    let waiting = this.#waiting.get(client);
    if (waiting === undefined) {
      waiting = new Promise<void>((resolve, reject) => {
        const done = () => {
          client.off('ready', onReady).off('close', onClose);
          this.#waiting.delete(client);
        };
        const onReady = () => {
          done();
          resolve();
        };
        const onClose = () => {
          done();
          reject(this.#unavailable('could not connect'));
        };
        client.once('ready', onReady).once('close', onClose);
      });
      // A rejection nobody awaits any more (every caller timed out) is not an error.
      waiting.catch(() => undefined);
      this.#waiting.set(client, waiting);
    }
    return waiting;
  }

  #unavailable(what: string, cause: unknown = this.#lastError): StoreUnavailableError {
    const where = describe(this.#redis);
    const last = this.#lastError === undefined || cause !== this.#lastError ? '' : ` (${this.#lastError.message})`;
    return new StoreUnavailableError(
      `Redis at ${where} is unavailable: ${what}${last}. Check the Redis URL and that the server is running; the store reconnects by itself once it is back`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Starts delivering changes of `w.name`: the events its scripts publish if the server allows it, else polling. */
  async #watch(w: Watcher, options: CallOptions | undefined): Promise<void> {
    if (this.#options.notifications !== 'off') {
      const sub = this.#subscriber();
      this.#channels.set(this.#prefix() + w.channel, w.name);
      try {
        await this.#call(sub, () => this.#listen(sub, w.channel), options?.signal);
        return;
      } catch (err) {
        this.#channels.delete(this.#prefix() + w.channel);
        // ACLs may forbid pub/sub: poll instead.
        if (!(err instanceof StoreReplyError)) throw err;
      }
    }
    w.poll = setInterval(() => void this.#refresh(w), this.#pollMs);
    w.poll.unref();
  }

  /** Subscribes `sub` to `channel`: sharded where the server has it (Redis 7), as the scripts publish. */
  async #listen(sub: RedisClient, channel: string): Promise<void> {
    if (this.#sharded !== false) {
      try {
        await sub.ssubscribe(channel);
        this.#sharded = true;
        return;
      } catch (err) {
        if (this.#sharded === true || !(err instanceof Error && /unknown command/i.test(err.message))) throw err;
        this.#sharded = false;
      }
    }
    await sub.subscribe(this.#prefix() + channel);
  }

  #unwatch(w: Watcher): void {
    this.#watchers.delete(w.name);
    clearInterval(w.poll);
    clearTimeout(w.retry);
    this.#channels.delete(this.#prefix() + w.channel);
    if (this.#sub?.status === 'ready' && w.poll === undefined) {
      (this.#sharded === false ? this.#sub.unsubscribe(this.#prefix() + w.channel) : this.#sub.sunsubscribe(w.channel)).catch(() => undefined);
    }
  }

  /** The scripts publish on a key name, which ioredis prefixed with `keyPrefix` (it does the same to SSUBSCRIBE's channels, not to SUBSCRIBE's). */
  #prefix(): string {
    return this.#redis.options.keyPrefix ?? '';
  }

  #subscriber(): RedisClient {
    if (this.#sub !== undefined) return this.#sub;
    // On a cluster, a sharded subscriber per node, following the slots as they move (and failovers): its slot map is refreshed with SLOTS_REFRESH_MS.
    const sub =
      this.#redis instanceof Cluster
        ? this.#redis.duplicate(undefined, { shardedSubscribers: true, slotsRefreshInterval: 0 })
        : this.#redis.duplicate({ ...CLIENT_OPTIONS, autoResubscribe: true });
    sub.on('error', this.#onError);
    const onMessage = (channel: string, message: string) => this.#notified(channel, message);
    sub.on('smessage', onMessage).on('message', onMessage);
    // Messages may have been missed while a subscriber was away.
    sub.on('ready', () => void this.#resync()).on('subscribersReady', () => void this.#resync());
    return (this.#sub = sub);
  }

  /** After a reconnect, once both connections are up: changes may have been missed. */
  async #resync(): Promise<void> {
    if (this.#sub?.status !== 'ready' || this.#redis.status !== 'ready') return;
    for (const w of this.#watchers.values()) void this.#refresh(w);
  }

  #notified(channel: string, message: string): void {
    const name = this.#channels.get(channel);
    const w = name === undefined ? undefined : this.#watchers.get(name);
    if (w === undefined) return;
    // `<generation>:<seq>`: a change the watcher's snapshot already holds needs no read.
    const at = message.lastIndexOf(':');
    const s = w.snapshot;
    if (s !== undefined && !w.running && message.slice(0, at) === s.generation && Number(message.slice(at + 1)) <= (this.#seqOf.get(s) ?? -1)) return;
    void this.#refresh(w);
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
        // One task per listener, not per event and listener: a read after a burst of joins may carry hundreds.
        if (events.length > 0) for (const listener of w.listeners) queueMicrotask(() => events.forEach((e) => listener(e, next)));
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
      const wasReady = sameRound && prev !== undefined && ready(prev);
      if (ready(next!) && !wasReady) events.push({ type: 'ready', round: p.round });
    }
    return events;
  }

  async #outcome(name: string, generation: string, round: number): Promise<TransitionOutcome | undefined> {
    const key = `${rendezvousKey(name)}:${generation}:${round}:outcome`;
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

/**
 * The state in a reply, and its member list: from the reply, the one the
 * caller held if the reply left it out, or that one with the changes the
 * reply lists since.
 */
function parseState(generation: string, reply: Reply, held: Members | undefined): { state: RendezvousState; members: Members } | undefined {
  if (reply === null || reply === undefined) return undefined;
  const [pick, round, list, mseq, stagedPick, committer, acked, , changes] = asArray(reply);
  if (typeof round !== 'number' || typeof mseq !== 'number') throw new DecodeError('Redis rendezvous script replied with a non-integer round');
  let members: Members;
  if (list !== null && list !== undefined) members = { mseq, list: texts(list) };
  else if (held?.mseq === mseq) members = held;
  else if (held !== undefined && changes !== null && changes !== undefined) members = { mseq, list: applyChanges(held.list, texts(changes)) };
  else throw new DecodeError('Redis rendezvous script left out a member list this store does not hold');
  const base = { generation, pick: bytes(pick), round, participants: members.list.length, members: members.list };
  if (stagedPick === null || stagedPick === undefined) return { state: base, members };
  if (typeof acked !== 'number') throw new DecodeError('Redis rendezvous script replied with a non-integer count of answers');
  return { state: { ...base, pending: { round, pick: bytes(stagedPick), committer: text(committer), acked } }, members };
}

/** `list` after `changes`, each `+member` (joined) or `-member` (left), oldest first. */
function applyChanges(list: readonly string[], changes: readonly string[]): string[] {
  const members = new Set(list);
  for (const c of changes) {
    if (c.startsWith('+')) members.add(c.slice(1));
    else members.delete(c.slice(1));
  }
  return [...members];
}

/** Every live member accepted the staged change. */
function ready(state: RendezvousState): boolean {
  return state.pending !== undefined && state.pending.acked >= state.participants;
}

/** Where the client connects, for error messages. */
function describe(client: RedisClient): string {
  if (client instanceof Cluster) return `cluster ${client.nodes('master').map((n) => `${n.options.host ?? 'localhost'}:${n.options.port ?? 6379}`).join(',') || '(no node reachable)'}`;
  const o = client.options;
  return o.path ?? `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
}

function parseOutcome(staged: number, kind: Reply, by: Reply, pick: Reply): TransitionOutcome {
  const k = text(kind);
  if (k === 'committed') return { kind: 'committed', round: staged + 1, pick: bytes(pick) };
  return { kind: 'rolled-back', round: staged + 1, reason: k === 'refused' ? 'refused' : 'abandoned', by: text(by) };
}
