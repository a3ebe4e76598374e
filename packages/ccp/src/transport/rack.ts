/**
 * RACK loss detection (RFC 8985): a packet sent before the most recently
 * sent packet that was delivered is lost once it is older than that
 * packet's RTT plus a reordering window (zero until reordering is seen).
 */
import { Deque } from './deque.js';
import { OUT, type Pkt } from './packet.js';

export class RackLossDetector {
  /** Send time of the most recently sent packet declared lost by the last detection, µs. */
  lostSentUs = -Infinity;
  /** Transmission index and RTT of the most recently sent delivered packet. */
  #idx = 0;
  #rtt = 0;
  #idxBefore = 0;
  #reorderingSeen = false;
  /** Transmissions in send order: a packet and the xmitIdx it had then. */
  readonly #queue = new Deque<Pkt>();
  readonly #queueIdx = new Deque<number>();

  onSend(p: Pkt): void {
    this.#queue.push(p);
    this.#queueIdx.push(p.xmitIdx);
  }

  beginAck(): void {
    this.#idxBefore = this.#idx;
  }

  /** `p` was delivered by the ACK being processed. */
  onDelivered(p: Pkt, now: number, minRtt: number): void {
    if (p.xmitIdx > this.#idx) {
      this.#idx = p.xmitIdx;
      const rtt = now - p.xmitTime;
      // A retransmitted packet acked sooner than any RTT was acked for an earlier transmission.
      if (!p.retransmitted || rtt >= minRtt) this.#rtt = rtt;
    } else if (!p.retransmitted && p.xmitIdx < this.#idxBefore) {
      this.#reorderingSeen = true;
    }
  }

  /**
   * Declares lost (`markLost`) what is overdue; returns how many, and arms
   * `arm(delayUs)` for the next packet that will be overdue.
   */
  detect(now: number, minRtt: number, srtt: number, markLost: (p: Pkt) => void, arm: (delayUs: number) => void): number {
    this.lostSentUs = -Infinity;
    if (this.#idx === 0) return 0;
    const reoWnd = this.#reorderingSeen ? Math.min(minRtt / 4, srtt) : 0;
    const q = this.#queue;
    const qi = this.#queueIdx;
    let lost = 0;
    for (;;) {
      const p = q.peek();
      if (p === undefined) break;
      const idx = qi.peek()!;
      if (p.state !== OUT || p.xmitIdx !== idx) {
        q.shift();
        qi.shift();
        continue;
      }
      if (idx >= this.#idx) break;
      const deadline = p.xmitTime + this.#rtt + reoWnd;
      if (now < deadline) {
        arm(deadline - now);
        break;
      }
      q.shift();
      qi.shift();
      if (p.xmitTime > this.lostSentUs) this.lostSentUs = p.xmitTime;
      markLost(p);
      lost++;
    }
    return lost;
  }

  /** A timeout declared everything lost: forget the send order. */
  clear(): void {
    this.#queue.clear();
    this.#queueIdx.clear();
  }
}
