import { BerthaError, type Incompatibility } from '@bertha/core';

export type NegotiationErrorCode =
  /** No variant of the client's stack can talk to any variant of the server's. */
  | 'ERR_NEGOTIATION_INCOMPATIBLE'
  /** The peer did not answer in time (after retransmissions on datagram transports). */
  | 'ERR_NEGOTIATION_TIMEOUT'
  /** The server refused a pick (a pre-registration, or 0-RTT picks it rejected too often). */
  | 'ERR_NEGOTIATION_REJECTED'
  /** The peer answered something this end cannot use (another protocol, or a pick for another stack). */
  | 'ERR_NEGOTIATION_PROTOCOL'
  /** The server holds as many sessions as it allows (`maxSessions`): retry later. */
  | 'ERR_NEGOTIATION_BUSY';

/** Negotiation failed; `code` says how, `incompatibilities` say what did not match. */
export class NegotiationError extends BerthaError {
  declare readonly code: NegotiationErrorCode;
  /** For `ERR_NEGOTIATION_INCOMPATIBLE`: what did not match, `local` being the server's side. */
  readonly incompatibilities: readonly Incompatibility[];

  constructor(code: NegotiationErrorCode, message: string, options: { incompatibilities?: readonly Incompatibility[]; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.incompatibilities = options.incompatibilities ?? [];
  }
}

const side = (s: Incompatibility['local']): string => (s.chunnels.length === 0 ? 'nothing' : `${s.chunnels.join(', ')} {${s.labels.join(', ')}}`);

/** The error both ends raise for stacks that cannot talk; `incompatibilities` come from the server's `pickVariants`. */
export function incompatibleError(server: string, incompatibilities: readonly Incompatibility[]): NegotiationError {
  const what = incompatibilities
    .map((i) => `capability '${i.type}' (${i.kind}): server has ${side(i.local)}, client has ${side(i.remote)}`)
    .join('; ');
  return new NegotiationError(
    'ERR_NEGOTIATION_INCOMPATIBLE',
    `stacks cannot talk to ${server}: ${what}. Make both ends offer a matching Chunnel at that position (a select can offer both)`,
    { incompatibilities },
  );
}
