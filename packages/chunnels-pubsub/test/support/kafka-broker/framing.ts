// Kafka frames every request and response with a 4-byte big-endian size.
// FrameSplitter turns a TCP byte stream into whole request frames.
import { MalformedRequestError } from './wire.js';

/** A real broker's default `socket.request.max.bytes` (100 MiB). */
export const MAX_FRAME_BYTES = 100 * 1024 * 1024;

export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Adds received bytes; returns the frames (without their size prefix) now complete. Throws on an impossible size. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    while (this.pendingBytes >= 4) {
      const head = this.peek(4);
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.maxFrameBytes) {
        throw new MalformedRequestError(`frame size ${size} is outside 0..${this.maxFrameBytes}`);
      }
      if (this.pendingBytes < 4 + size) break;
      const all = this.peek(4 + size);
      frames.push(all.subarray(4, 4 + size));
      this.consume(4 + size);
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length < n) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!;
  }

  private consume(n: number): void {
    const first = this.pending[0]!;
    // peek(n) has already joined the pending chunks so the first one holds n bytes.
    if (first.length === n) this.pending.shift();
    else this.pending[0] = first.subarray(n);
    this.pendingBytes -= n;
  }
}

/** A response frame: size prefix, correlation id (response header v0), body. */
export function responseFrame(correlationId: number, body: readonly Buffer[]): Buffer[] {
  const bodyBytes = body.reduce((n, b) => n + b.length, 0);
  const head = Buffer.allocUnsafe(8);
  head.writeInt32BE(4 + bodyBytes, 0);
  head.writeInt32BE(correlationId, 4);
  return [head, ...body];
}
