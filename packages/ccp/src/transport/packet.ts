/** A packet on the sender's scoreboard, shared by the sender, RACK and the delivery-rate sampler. */

/** Sent and neither acknowledged, SACKed nor declared lost. */
export const OUT = 0;
export const SACKED = 1;
export const LOST = 2;
export const ACKED = 3;
export type PacketState = typeof OUT | typeof SACKED | typeof LOST | typeof ACKED;

export interface Pkt {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly flags: number;
  readonly size: number;
  state: PacketState;
  retransmitted: boolean;
  /** Clock time of the latest (re)transmission, µs. */
  xmitTime: number;
  /** Transmission counter at the last (re)transmission: RACK's send order. */
  xmitIdx: number;
  // Delivery-rate state at transmission (draft-cheng §3.2).
  delivered: number;
  deliveredTime: number;
  firstSentTime: number;
}
