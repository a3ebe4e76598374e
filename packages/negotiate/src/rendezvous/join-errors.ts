import { BerthaError, type Incompatibility } from '@bertha/core';

/** The stack cannot run the pick the rendezvous committed, and no transition to one it can run was accepted. */
export class IncompatiblePickError extends BerthaError {
  declare readonly code: 'ERR_RENDEZVOUS_INCOMPATIBLE';
  /** Chunnel names of the committed pick. */
  readonly pick: readonly string[];
  /** What does not match, between this stack's closest variant (`local`) and the pick (`remote`). */
  readonly incompatibilities: readonly Incompatibility[];

  constructor(name: string, pick: readonly string[], incompatibilities: readonly Incompatibility[], options?: { cause?: unknown }) {
    const what = incompatibilities.map((i) => i.reason).join('; ') || 'no variant matches';
    super(
      'ERR_RENDEZVOUS_INCOMPATIBLE',
      `this stack cannot run the stack [${pick.join(', ')}] committed in rendezvous "${name}": ${what}. Offer a matching Chunnel (a select can offer both), or join with a policy the others accept`,
      options,
    );
    this.pick = pick;
    this.incompatibilities = incompatibilities;
  }
}

/**
 * A proposed transition ended without a commit: a member refused it, the
 * committer went away, or the store lost it. The old stack stays.
 */
export class TransitionRefusedError extends BerthaError {
  declare readonly code: 'ERR_TRANSITION_REFUSED';
  /** `lost`: the store lost its state (Redis restarted or was flushed) or the committer's lease lapsed before the commit. */
  readonly reason: 'refused' | 'abandoned' | 'lost';
  /** The member that refused (for `abandoned` and `lost`, the committer). */
  readonly by: string;
  /** Chunnel names of the stack that was proposed. */
  readonly proposed: readonly string[];

  constructor(name: string, proposed: readonly string[], reason: 'refused' | 'abandoned' | 'lost', by: string) {
    const to = `[${proposed.join(', ')}]`;
    super(
      'ERR_TRANSITION_REFUSED',
      reason === 'refused'
        ? `member "${by}" of rendezvous "${name}" refused to switch to ${to}: its stack cannot run it; the old stack stays`
        : reason === 'abandoned'
          ? `the transition of rendezvous "${name}" to ${to} was abandoned because its committer "${by}" left; the old stack stays`
          : `the transition of rendezvous "${name}" to ${to} was lost before it committed: the store lost its state (restarted or flushed) or the committer's lease lapsed; the old stack stays, propose again`,
    );
    this.reason = reason;
    this.by = by;
    this.proposed = proposed;
  }
}

/** Another member's transition to a different stack is under way; propose again once it ended. */
export class TransitionInProgressError extends BerthaError {
  declare readonly code: 'ERR_TRANSITION_IN_PROGRESS';
  constructor(name: string, committer: string) {
    super('ERR_TRANSITION_IN_PROGRESS', `member "${committer}" is switching rendezvous "${name}" to another stack: wait for the "pick" event and propose again`);
  }
}
