// Kafka's primitive encodings (big-endian integers, int16-length strings,
// int32-length bytes and arrays; null is length -1). The broker advertises one
// flexible (tagged-field) version only, ApiVersions v3, whose response needs the
// unsigned varint below; no request it decodes is flexible.

/** A request that does not decode: the connection that sent it is closed, as a real broker does. */
export class MalformedRequestError extends Error {
  readonly code = 'ERR_KAFKA_MALFORMED_REQUEST';
}

export class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number): number {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new MalformedRequestError(`request truncated: needs ${n} bytes at ${this.offset}, has ${this.remaining}`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.take(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.take(4));
  }
  /** An int64 as a number: offsets and timestamps stay far below 2^53. */
  int64(): number {
    return Number(this.buf.readBigInt64BE(this.take(8)));
  }
  boolean(): boolean {
    return this.int8() !== 0;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < -1) throw new MalformedRequestError(`negative string length ${n}`);
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new MalformedRequestError('null where a string is required');
    return s;
  }
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < -1) throw new MalformedRequestError(`negative bytes length ${n}`);
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n === -1) return null;
    // Each element takes at least one byte: a huge count in a short request is malformed, not an allocation.
    if (n < -1 || n > this.remaining) throw new MalformedRequestError(`array length ${n} with ${this.remaining} bytes left`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }
  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }
}

export class Writer {
  private chunks: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }
  private fixed(n: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(n);
    write(b);
    return this.push(b);
  }

  int8(v: number): this {
    return this.fixed(1, (b) => b.writeInt8(v));
  }
  int16(v: number): this {
    return this.fixed(2, (b) => b.writeInt16BE(v));
  }
  int32(v: number): this {
    return this.fixed(4, (b) => b.writeInt32BE(v));
  }
  int64(v: number): this {
    return this.fixed(8, (b) => b.writeBigInt64BE(BigInt(v)));
  }
  boolean(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  /** Unsigned LEB128, for flexible versions' compact lengths and tagged-field counts. */
  uvarint(v: number): this {
    const out: number[] = [];
    for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v & 0x7f) | 0x80);
    out.push(v);
    return this.push(Buffer.from(out));
  }
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    return this.int16(b.length).push(b);
  }
  bytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).push(v);
  }
  /** Bytes made of several buffers (a partition's record batches), without copying them together. */
  bytesList(parts: readonly Buffer[]): this {
    this.int32(parts.reduce((n, p) => n + p.length, 0));
    for (const p of parts) this.push(p);
    return this;
  }
  array<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  get length(): number {
    return this.size;
  }
  toBuffers(): Buffer[] {
    return this.chunks;
  }
}
