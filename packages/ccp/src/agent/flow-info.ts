/** What the agent knows about a flow from its CREATE: shared by the algorithm API and reports. */
/** Where a flow runs: an IPv4 address (host order, as on the wire) and a port. */
export interface Endpoint {
  readonly ip: number;
  readonly port: number;
}

/** What the datapath told us about a new flow in its CREATE message. */
export interface FlowInfo {
  /** Identity of the datapath (its IPC peer); flows of different datapaths never mix. */
  readonly datapath: string;
  /** The datapath's socket id for this flow (≥ 1). */
  readonly sid: number;
  /** Initial congestion window, bytes. */
  readonly initCwnd: number;
  /** Maximum segment size, bytes. */
  readonly mss: number;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** The algorithm name the datapath asked for (may be empty, or unknown to this agent). */
  readonly algorithm: string;
}
