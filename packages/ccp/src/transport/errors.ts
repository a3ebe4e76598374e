import { CcpError } from '../errors.js';

/**
 * The peer acknowledged nothing for the user timeout while data was
 * outstanding, or its address reports nothing listening: the connection is
 * over. Open a new one (the peer may not have received `unackedBytes`).
 */
export class PeerUnreachableError extends CcpError {
  /** Bytes written that the peer never acknowledged. */
  readonly unackedBytes: number;
  constructor(message: string, unackedBytes: number, options?: { cause?: unknown }) {
    super('ERR_CCP_PEER_UNREACHABLE', `the peer is unreachable or gone: ${message}; open a new connection`, options);
    this.unackedBytes = unackedBytes;
  }
}

/** `close()` gave up waiting (`lingerUs`) with data the peer never acknowledged; the connection is closed anyway. */
export class UnacknowledgedDataError extends CcpError {
  readonly unackedBytes: number;
  constructor(unackedBytes: number, lingerUs: number) {
    super(
      'ERR_CCP_UNACKNOWLEDGED',
      `closed with ${unackedBytes} bytes the peer did not acknowledge within lingerUs (${lingerUs} µs): it may not have received them; raise lingerUs or check that the peer is alive`,
    );
    this.unackedBytes = unackedBytes;
  }
}
