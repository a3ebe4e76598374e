import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AbortError, type CallOptions } from '@bertha/core';
import { TraceError } from './errors.js';

/** Bytes one delivery opportunity of a mahimahi trace can carry. */
export const TRACE_MTU_BYTES = 1500;

/**
 * A mahimahi link trace: each entry is a millisecond timestamp at which one
 * 1500-byte delivery opportunity occurs. The trace repeats forever with a
 * period equal to its last timestamp, as `mm-link` does by default.
 * Opportunities are numbered 0, 1, 2 … across repetitions.
 */
export class Trace {
  readonly name: string;
  /** Opportunity times within one period, in ms, non-decreasing. */
  readonly timestampsMs: Uint32Array;
  readonly periodMs: number;

  constructor(timestampsMs: Uint32Array, name = 'trace') {
    const n = timestampsMs.length;
    if (n === 0) throw new TraceError(`trace ${name} has no delivery opportunities: it needs at least one timestamp line`);
    for (let i = 1; i < n; i++) {
      if (timestampsMs[i]! < timestampsMs[i - 1]!) {
        throw new TraceError(`trace ${name}: timestamps must not decrease, but entry ${i + 1} (${timestampsMs[i]} ms) comes after ${timestampsMs[i - 1]} ms`);
      }
    }
    const period = timestampsMs[n - 1]!;
    if (period === 0) throw new TraceError(`trace ${name} ends at 0 ms: its last timestamp is its period and must be positive`);
    this.name = name;
    this.timestampsMs = timestampsMs;
    this.periodMs = period;
  }

  /** Opportunities per period. */
  get length(): number {
    return this.timestampsMs.length;
  }

  /** The long-run capacity of the trace in bits per second. */
  get meanRateBps(): number {
    return (this.length * TRACE_MTU_BYTES * 8 * 1000) / this.periodMs;
  }

  /** Time of opportunity `k` in µs. */
  opportunityUs(k: number): number {
    const n = this.length;
    const cycle = Math.floor(k / n);
    return (cycle * this.periodMs + this.timestampsMs[k - cycle * n]!) * 1000;
  }

  /** The first opportunity at or after `timeUs`. */
  firstAtOrAfter(timeUs: number): number {
    const n = this.length;
    const ms = timeUs / 1000;
    const cycle = Math.max(0, Math.floor(ms / this.periodMs));
    const within = ms - cycle * this.periodMs;
    const ts = this.timestampsMs;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! < within) lo = mid + 1;
      else hi = mid;
    }
    let k = cycle * n + lo;
    // The end of one period and the start of the next can share a time (a trace starting at 0).
    while (k > 0 && this.opportunityUs(k - 1) >= timeUs) k--;
    return k;
  }

  /** Opportunities with a time in [fromUs, toUs]. */
  countBetween(fromUs: number, toUs: number): number {
    if (toUs < fromUs) return 0;
    let end = this.firstAtOrAfter(toUs);
    while (this.opportunityUs(end) <= toUs) end++;
    return end - this.firstAtOrAfter(fromUs);
  }
}

/** Parses the text of a mahimahi trace: one integer millisecond timestamp per line; blank lines are ignored. */
export function parseTrace(text: string, name = 'trace'): Trace {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const v = Number(line);
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new TraceError(`trace ${name}, line ${i + 1}: expected a whole number of milliseconds >= 0, got ${JSON.stringify(line.slice(0, 40))}`);
    }
    out.push(v);
  }
  return new Trace(Uint32Array.from(out), name);
}

/** Reads and parses a mahimahi trace file. */
export async function loadTrace(path: string | URL, opts: CallOptions = {}): Promise<Trace> {
  const file = typeof path === 'string' ? path : fileURLToPath(path);
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted === true) throw new AbortError(opts.signal.reason);
    throw new TraceError(`cannot read trace file ${file}: check the path (a mahimahi trace: one millisecond timestamp per line)`, { cause: err });
  }
  const base = file.slice(file.lastIndexOf('/') + 1);
  return parseTrace(text, base);
}

/** The traces shipped with this package (see traces/README.md): their names, and where each one is. */
export const SHIPPED_TRACES = ['Verizon-LTE-short.down'] as const;
export type ShippedTraceName = (typeof SHIPPED_TRACES)[number];

/** The file of a shipped trace: `traces/` at the package root, two levels above both src/link and dist/link. */
export function shippedTrace(name: ShippedTraceName): URL {
  return new URL(`../../traces/${name}`, import.meta.url);
}

/** A trace of a constant rate: `packetsPerMs` opportunities every millisecond (1 = 12 Mbit/s). */
export function constantTrace(packetsPerMs: number): Trace {
  if (!Number.isInteger(packetsPerMs) || packetsPerMs < 1) {
    throw new TraceError(`packetsPerMs must be a positive integer, got ${packetsPerMs}`);
  }
  return new Trace(new Uint32Array(packetsPerMs).fill(1), `constant-${packetsPerMs}`);
}
