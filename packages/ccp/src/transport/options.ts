/** Options shared by the transport's sender, receiver, Chunnel and simulation harness. */
import { InvalidArgumentError } from '@bertha/core';
import type { CcpHost, CcpHostOptions } from './ccp-host.js';
import type { HyStartOptions } from '../algorithms/hystart.js';
import type { NativeAlgorithm } from './native-cc.js';
import { DATA_HEADER_BYTES, MAX_SACK_BLOCKS } from './wire.js';

/**
 * Who sets the window and rate: a CCP agent through the datapath runtime
 * (`kind: 'ccp'`, the default, with Reno), or Reno/Cubic built into the
 * transport (`kind: 'native'`).
 */
export type CongestionControlOptions = CcpControlOptions | NativeControlOptions;

export interface CcpControlOptions extends Omit<CcpHostOptions, 'clock'> {
  readonly kind: 'ccp';
  /** Algorithm name sent in CREATE (default `'reno'`); the agent's default if it lacks it. */
  readonly algorithm?: string;
  /**
   * A host (datapath runtime + agent link) to share between flows. Without
   * one, the Chunnel makes one per instance from the other options, and the
   * simulation harness one per path.
   */
  readonly host?: CcpHost;
}

export interface NativeControlOptions {
  readonly kind: 'native';
  readonly algorithm: NativeAlgorithm;
  /** Leave slow start by HyStart++ (RFC 9406) rather than at the first loss (default true), with these constants if given. */
  readonly hystart?: boolean | HyStartOptions;
}

/** One point of a flow's trace, passed to `onSample` after every ACK. */
export interface TransportSample {
  /** Clock time, µs. */
  readonly tUs: number;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Pacing rate, bytes/s; 0 when not paced. */
  readonly rate: number;
  /** Latest RTT sample and smoothed RTT, µs (0 before the first sample). */
  readonly rttUs: number;
  readonly srttUs: number;
  /** Payload bytes in flight (sent, not acked, SACKed or lost). */
  readonly inflight: number;
  /** Payload bytes delivered so far (acked in order or SACKed). */
  readonly deliveredBytes: number;
  /** Delivery rate of the latest valid sample, bytes/s. */
  readonly deliveryRate: number;
  /** Packets detected lost so far. */
  readonly lostPackets: number;
  /** The flow runs native Reno because the CCP agent is unreachable. */
  readonly fallback: boolean;
}

export interface TransportOptions {
  /** Payload bytes per packet. Default 1448 (a 1500-byte IPv4 MTU); at most 65,493 over UDP. */
  readonly mss?: number;
  /** Initial window, packets. Default 10 (RFC 6928). */
  readonly initCwndPackets?: number;
  /** RFC 6298 bounds and initial value of the retransmission timeout, µs. Defaults 200 ms, 60 s, 1 s. */
  readonly minRtoUs?: number;
  readonly maxRtoUs?: number;
  readonly initialRtoUs?: number;
  /**
   * How long data may stay outstanding with nothing acknowledged before the
   * peer is declared gone (`PeerUnreachableError` on pending and later
   * calls), as TCP_USER_TIMEOUT, µs. Default 30 s.
   */
  readonly userTimeoutUs?: number;
  /** Receiver: longest an ACK waits for a second packet, µs. Default 1000. */
  readonly ackDelayUs?: number;
  /** Receiver: acknowledge at once after this many in-order packets. Default 2. */
  readonly ackEvery?: number;
  /** Receiver: SACK blocks per ACK, 1–32. Default 32. */
  readonly maxSackBlocks?: number;
  /** Receiver: packets buffered beyond a hole; later ones are dropped (and counted). Default 65,536. */
  readonly maxReorderPackets?: number;
  /** Who sets window and rate. Default `{ kind: 'ccp', algorithm: 'reno' }` with an agent in this process. */
  readonly cc?: CongestionControlOptions;
  /** Called after every ACK with the flow's state; omit it and nothing is allocated for it. */
  readonly onSample?: (s: TransportSample) => void;
}

export interface ResolvedTransportOptions {
  readonly mss: number;
  readonly initCwnd: number;
  readonly minRtoUs: number;
  readonly maxRtoUs: number;
  readonly initialRtoUs: number;
  readonly userTimeoutUs: number;
  readonly ackDelayUs: number;
  readonly ackEvery: number;
  readonly maxSackBlocks: number;
  readonly maxReorderPackets: number;
}

/** Largest payload: a UDP datagram over IPv4 minus the DATA header. */
export const MAX_MSS = 65_507 - DATA_HEADER_BYTES;
export const DEFAULT_MSS = 1448;

function check(name: string, v: number, lo: number, hi: number, integer = true): number {
  if (!(v >= lo && v <= hi) || (integer && !Number.isInteger(v))) {
    throw new InvalidArgumentError(`ccpTransport: ${name} must be ${integer ? 'an integer ' : ''}in [${lo}, ${hi}], got ${v}`);
  }
  return v;
}

export function resolveOptions(o: TransportOptions): ResolvedTransportOptions {
  const mss = check('mss', o.mss ?? DEFAULT_MSS, 1, MAX_MSS);
  const minRtoUs = check('minRtoUs', o.minRtoUs ?? 200_000, 1, 3.6e9, false);
  const maxRtoUs = check('maxRtoUs', o.maxRtoUs ?? 60_000_000, minRtoUs, 3.6e9, false);
  if (o.cc !== undefined && o.cc.kind !== 'ccp' && o.cc.kind !== 'native') {
    throw new InvalidArgumentError(`ccpTransport: cc.kind must be 'ccp' or 'native', got ${String((o.cc as { kind: unknown }).kind)}`);
  }
  if (o.cc?.kind === 'native' && o.cc.algorithm !== 'reno' && o.cc.algorithm !== 'cubic') {
    throw new InvalidArgumentError(`ccpTransport: native algorithms are 'reno' and 'cubic', got ${String(o.cc.algorithm)}`);
  }
  return {
    mss,
    initCwnd: check('initCwndPackets', o.initCwndPackets ?? 10, 1, 1_000_000) * mss,
    minRtoUs,
    maxRtoUs,
    initialRtoUs: check('initialRtoUs', o.initialRtoUs ?? 1_000_000, minRtoUs, maxRtoUs, false),
    userTimeoutUs: check('userTimeoutUs', o.userTimeoutUs ?? 30_000_000, 1, 3.6e9, false),
    ackDelayUs: check('ackDelayUs', o.ackDelayUs ?? 1000, 0, 1e9, false),
    ackEvery: check('ackEvery', o.ackEvery ?? 2, 1, 1_000_000),
    maxSackBlocks: check('maxSackBlocks', o.maxSackBlocks ?? MAX_SACK_BLOCKS, 1, MAX_SACK_BLOCKS),
    maxReorderPackets: check('maxReorderPackets', o.maxReorderPackets ?? 65_536, 1, 1 << 24),
  };
}
