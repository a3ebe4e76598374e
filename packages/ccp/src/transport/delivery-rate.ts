/**
 * Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation):
 * each packet remembers how much had been delivered when it was sent; an ACK
 * compares that with now, over the longer of the send and ACK intervals.
 */
import type { Pkt } from './packet.js';

export class DeliveryRateSampler {
  /** Payload bytes delivered so far (acked in order or SACKed). */
  delivered = 0;
  /** Rates of the latest valid sample, bytes/s. */
  rateIncoming = 0;
  rateOutgoing = 0;
  #deliveredTime = 0;
  #firstSentTime = 0;
  // The sample being taken for one ACK: state of the most recently sent packet it delivers.
  #priorDelivered = -1;
  #sendElapsed = 0;
  #ackElapsed = 0;

  /** Stamps `p` as it is sent (`idle`: nothing was in flight, a new sending period starts). */
  onSend(p: Pkt, now: number, idle: boolean): void {
    if (idle) {
      this.#firstSentTime = now;
      this.#deliveredTime = now;
    }
    p.delivered = this.delivered;
    p.deliveredTime = this.#deliveredTime;
    p.firstSentTime = this.#firstSentTime;
  }

  beginAck(): void {
    this.#priorDelivered = -1;
  }

  /** `p` was delivered by the ACK being processed. */
  onDelivered(p: Pkt, now: number): void {
    this.delivered += p.size;
    this.#deliveredTime = now;
    if (p.delivered > this.#priorDelivered || (p.delivered === this.#priorDelivered && p.xmitTime > this.#firstSentTime)) {
      this.#priorDelivered = p.delivered;
      this.#sendElapsed = p.xmitTime - p.firstSentTime;
      this.#ackElapsed = now - p.deliveredTime;
      this.#firstSentTime = p.xmitTime;
    }
  }

  /** Ends the ACK's sample; whether it delivered anything. */
  endAck(minRtt: number): boolean {
    if (this.#priorDelivered < 0) return false;
    const delivered = this.delivered - this.#priorDelivered;
    const interval = Math.max(this.#sendElapsed, this.#ackElapsed);
    // Shorter than min RTT: ACK compression or a stretched ACK, not a rate (draft-cheng §3.3).
    if (interval > 0 && interval >= minRtt) {
      this.rateIncoming = this.#ackElapsed > 0 ? (delivered * 1e6) / this.#ackElapsed : this.rateIncoming;
      this.rateOutgoing = this.#sendElapsed > 0 ? (delivered * 1e6) / this.#sendElapsed : this.rateIncoming;
    }
    return true;
  }
}
