/**
 * YCSB workload B against the store: a load phase (one PUT per record),
 * then 95 % reads and 5 % updates of zipfian-chosen keys (YCSB's scrambled
 * zipfian, θ = 0.99) at a fixed offered load (open loop): operation k is
 * scheduled at t0 + k / rate whatever happened to earlier ones, and its
 * latency is measured from that scheduled time, so a stalled server shows
 * as latency rather than as fewer requests sent (no coordinated omission).
 *
 * Every reply is validated: a read returns a version of its key no older
 * than the newest write acknowledged before the read was sent, and no newer
 * than the newest write issued — or one of its writes that timed out (UDP:
 * lost, or late, in which case the store applies it late). A key has at
 * most one write in flight (UDP may reorder datagrams, even on one socket's
 * batches), and its writes go through one connection.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '@bertha/core';
import { encodeRequest, type KvReply, type KvRequest } from './protocol.js';

/** What the workload drives: the store's client library, or a hand-written one. */
export interface KvRequester {
  /** Sends requests in one batch; each promise settles with its reply, or rejects (`code: 'ERR_TIMEOUT'` for a lost one). */
  requestBatch(reqs: readonly Omit<KvRequest, 'id'>[]): Promise<KvReply>[];
}

export interface WorkloadOptions {
  readonly records: number;
  /** Fraction of reads; the rest are updates. Default 0.95 (workload B). */
  readonly readFraction?: number;
  /** Zipfian constant. Default 0.99 (YCSB's). */
  readonly theta?: number;
  /** Bytes of each message of a write (132 in the published evaluation). Default 132. */
  readonly messageBytes?: number;
  readonly seed?: number;
}

/** YCSB's zipfian generator (Gray et al.), over ranks 0..n-1, rank 0 the most popular. */
export function zipfian(n: number, theta: number, rand: () => number): () => number {
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
  const zeta2 = 1 + Math.pow(0.5, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  return () => {
    const u = rand();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < zeta2) return 1;
    return Math.min(n - 1, Math.floor(n * Math.pow(eta * u - eta + 1, alpha)));
  };
}

/** Record i's key: 8 hex digits of a hash, then i. The hash leads, so the first 4 bytes (the shard's) vary. */
export function keyOf(i: number): string {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0).toString(16).padStart(8, '0') + i.toString(36);
}

/** A write's value: its version first (what validation reads back), padded to the message size. */
const valueOf = (version: number, pad: string): string => `${version}|${pad}`;
const versionOf = (value: string | undefined): number => (value === undefined ? 0 : Number.parseInt(value, 10));

export interface RunResult {
  /** Operations per second offered. */
  readonly offered: number;
  /** Successful replies per second, from the first scheduled send to the last reply. */
  readonly achieved: number;
  readonly ok: number;
  /** Latency from the scheduled send time, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly timeouts: number;
  readonly errors: number;
  /** Replies that broke the read-your-acknowledged-writes rule: must be 0. */
  readonly invalid: number;
}

export class Workload {
  readonly records: number;
  readonly #next: () => number;
  readonly #order: Uint32Array;
  readonly #rand: () => number;
  readonly #readFraction: number;
  readonly #pad: string;
  /** Per record: newest version issued, and newest acknowledged. */
  readonly #issued: Uint32Array;
  readonly #acked: Uint32Array;
  /** Per record, 1 while a write is in flight: UDP may reorder two writes, so a key has one at a time. */
  readonly #writing: Uint8Array;
  /** Per record, versions whose write timed out: the store may still apply them, late. */
  readonly #lost = new Map<number, Set<number>>();

  constructor(opts: WorkloadOptions) {
    this.records = opts.records;
    this.#rand = mulberry32(opts.seed ?? 1);
    this.#next = zipfian(opts.records, opts.theta ?? 0.99, this.#rand);
    // Scrambled: popular ranks land on records spread over the key space.
    this.#order = Uint32Array.from({ length: opts.records }, (_, i) => i);
    for (let i = this.#order.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rand() * (i + 1));
      [this.#order[i], this.#order[j]] = [this.#order[j]!, this.#order[i]!];
    }
    this.#readFraction = opts.readFraction ?? 0.95;
    // Padding that makes a typical write (the last record's key, a 5-byte id, version 1) `messageBytes` long.
    const around = encodeRequest({ key: keyOf(opts.records - 1), op: 'put', id: 70_000, value: valueOf(1, '') }).length;
    this.#pad = 'x'.repeat(Math.max(0, (opts.messageBytes ?? 132) - around));
    this.#issued = new Uint32Array(opts.records);
    this.#acked = new Uint32Array(opts.records);
    this.#writing = new Uint8Array(opts.records);
  }

  /** Writes every record once (version 1), a window at a time. */
  async load(clients: readonly KvRequester[], window = 256): Promise<void> {
    for (let from = 0; from < this.records; from += window * clients.length) {
      const batches = clients.map((c, k) => {
        const reqs: Omit<KvRequest, 'id'>[] = [];
        for (let i = from + k * window; i < Math.min(this.records, from + (k + 1) * window); i++) reqs.push(this.#write(i));
        return c.requestBatch(reqs);
      });
      const replies = await Promise.allSettled(batches.flat());
      const failed = replies.filter((r) => r.status === 'rejected');
      if (failed.length > 0) throw new Error(`load: ${failed.length} PUTs failed (${String((failed[0] as PromiseRejectedResult).reason)})`);
    }
    this.#acked.set(this.#issued);
  }

  #write(i: number): Omit<KvRequest, 'id'> {
    const version = ++this.#issued[i]!;
    return { key: keyOf(i), op: 'put', value: valueOf(version, this.#pad) };
  }

  /** Runs the workload at `rate` operations per second for `durationMs`, spread over `clients`. */
  async run(clients: readonly KvRequester[], rate: number, durationMs: number): Promise<RunResult> {
    const total = Math.floor((rate * durationMs) / 1000);
    const latencies: number[] = [];
    let ok = 0;
    let timeouts = 0;
    let errors = 0;
    let invalid = 0;
    let lastReply = 0;
    const settled: Promise<unknown>[] = [];
    const t0 = performance.now() + 5;
    let k = 0;
    await new Promise<void>((done) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
        const perClient: { reqs: Omit<KvRequest, 'id'>[]; check: ((r: KvReply) => boolean)[]; lost: ((() => void) | undefined)[]; at: number[] }[] = clients.map(() => ({
          reqs: [],
          check: [],
          lost: [],
          at: [],
        }));
        for (; k < due; k++) {
          const record = this.#order[this.#next()]!;
          const at = t0 + (k * 1000) / rate;
          let c: number;
          let req: Omit<KvRequest, 'id'>;
          let check: (r: KvReply) => boolean;
          let lost: (() => void) | undefined;
          // An update of a key whose last write is still in flight reads it instead (rare: only under overload).
          if (this.#rand() < this.#readFraction || this.#writing[record] === 1) {
            c = k % clients.length;
            req = { key: keyOf(record), op: 'get' };
            const min = this.#acked[record]!;
            check = (r) => {
              const v = versionOf(r.value);
              return (v >= min && v <= this.#issued[record]!) || this.#lost.get(record)?.has(v) === true;
            };
          } else {
            c = record % clients.length;
            req = this.#write(record);
            this.#writing[record] = 1;
            const version = this.#issued[record]!;
            check = () => {
              this.#writing[record] = 0;
              if (this.#acked[record]! < version) this.#acked[record] = version;
              return true;
            };
            lost = () => {
              this.#writing[record] = 0;
              let s = this.#lost.get(record);
              if (!s) this.#lost.set(record, (s = new Set()));
              s.add(version);
            };
          }
          const b = perClient[c]!;
          b.reqs.push(req);
          b.check.push(check);
          b.lost.push(lost);
          b.at.push(at);
        }
        clients.forEach((client, ci) => {
          const b = perClient[ci]!;
          if (b.reqs.length === 0) return;
          client.requestBatch(b.reqs).forEach((p, j) => {
            settled.push(
              p.then(
                (r) => {
                  const t = performance.now();
                  lastReply = t;
                  latencies.push(t - b.at[j]!);
                  ok++;
                  if (!b.check[j]!(r)) invalid++;
                },
                (e: unknown) => {
                  if ((e as { code?: string }).code === 'ERR_TIMEOUT') timeouts++;
                  else errors++;
                  b.lost[j]?.();
                },
              ),
            );
          });
        });
        if (k >= total) done();
        else setTimeout(tick, 1);
      };
      setTimeout(tick, 5);
    });
    await Promise.all(settled);
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? NaN;
    return {
      offered: rate,
      achieved: ok / ((lastReply - t0) / 1000),
      ok,
      p50: pct(50),
      p99: pct(99),
      timeouts,
      errors,
      invalid,
    };
  }
}
