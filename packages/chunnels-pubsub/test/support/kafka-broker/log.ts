// Storage: topics, each a fixed number of partitions, each an append-only list of
// record batches in memory. Nothing is ever deleted, so every log starts at offset 0.
import { placeBatch, type StoredBatch } from './record-batch.js';

export class PartitionLog {
  private readonly batches: StoredBatch[] = [];
  private next = 0;
  private bytes = 0;

  /** The offset the next record gets (Kafka's high watermark: one replica, so everything appended is committed). */
  get highWatermark(): number {
    return this.next;
  }
  get logStartOffset(): number {
    return 0;
  }
  get sizeInBytes(): number {
    return this.bytes;
  }

  /** Appends checked batches; returns the base offset of the first. */
  append(batches: readonly Buffer[]): number {
    const first = this.next;
    for (const b of batches) {
      const stored = placeBatch(b, this.next);
      this.batches.push(stored);
      this.next = stored.lastOffset + 1;
      this.bytes += stored.bytes.length;
    }
    return first;
  }

  /**
   * Whole batches from the one holding `offset` on, up to `maxBytes`; with `atLeastOne`, the
   * first batch even when it is larger, so a consumer makes progress (KIP-74).
   */
  read(offset: number, maxBytes: number, atLeastOne: boolean): Buffer[] {
    let i = this.indexOf(offset);
    const out: Buffer[] = [];
    let size = 0;
    for (; i < this.batches.length; i++) {
      const b = this.batches[i]!.bytes;
      if (size + b.length > maxBytes && !(atLeastOne && out.length === 0)) break;
      out.push(b);
      size += b.length;
    }
    return out;
  }

  /** Bytes from `offset` to the end (for a fetch's min-bytes check). */
  bytesFrom(offset: number): number {
    let n = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) n += this.batches[i]!.bytes.length;
    return n;
  }

  /** The first offset of the first batch whose records may have a timestamp ≥ `timestamp`, or the high watermark. */
  offsetForTimestamp(timestamp: number): number {
    const b = this.batches.find((batch) => batch.maxTimestamp >= timestamp);
    return b === undefined ? this.next : b.baseOffset;
  }

  /** Index of the batch holding `offset` (binary search on lastOffset). */
  private indexOf(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid]!.lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Kafka's rule for topic names. */
export function validTopicName(name: string): boolean {
  return name.length > 0 && name.length <= 249 && name !== '.' && name !== '..' && /^[a-zA-Z0-9._-]+$/.test(name);
}

export class TopicStore {
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly appendListeners = new Set<() => void>();

  constructor(
    private readonly options: { readonly autoCreateTopics: boolean; readonly defaultPartitions: number },
  ) {}

  get autoCreate(): boolean {
    return this.options.autoCreateTopics;
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  get(topic: string): PartitionLog[] | undefined {
    return this.topics.get(topic);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.[partition];
  }

  /** Creates a topic; false if it exists already. The caller has checked name and count. */
  create(topic: string, partitions = this.options.defaultPartitions): boolean {
    if (this.topics.has(topic)) return false;
    this.topics.set(topic, Array.from({ length: partitions }, () => new PartitionLog()));
    return true;
  }

  /** Calls `listener` after every append, until the returned function is called. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  appended(): void {
    for (const l of [...this.appendListeners]) l();
  }
}
