/**
 * Packet buffers carved from large shared allocations. A `new Uint8Array(n)`
 * per packet gives each its own backing store, whose allocation, zeroing and
 * finalisation cost more than the packet's copy (the larger share of the
 * sender's non-syscall time per packet on loopback); a view of a slab is one
 * small heap object. Carved space is never handed out twice: a slab is freed
 * by the garbage collector once no view of it is left, so a packet held long
 * (an emulated link's queue, a retransmission) only keeps its slab alive.
 */
const SLAB_BYTES = 256 * 1024;

export class Slab {
  #buf: Uint8Array = new Uint8Array(0);
  #used = 0;

  /** `n` uninitialised bytes: the caller writes every one of them. */
  take(n: number): Uint8Array {
    if (n > SLAB_BYTES / 4) return Buffer.allocUnsafeSlow(n);
    if (this.#used + n > this.#buf.byteLength) {
      // Not zeroed: every byte handed out is overwritten, and zeroing 256 KiB cost as much as the packets' copies.
      this.#buf = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    // Views start 8-byte aligned, as allocations do.
    this.#used = (start + n + 7) & ~7;
    return new Uint8Array(this.#buf.buffer, start, n);
  }
}
