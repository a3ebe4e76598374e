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

/** A proposed transition was rolled back: a member refused it, or the committer went away. The old stack stays. */
export class TransitionRefusedError extends BerthaError {
  declare readonly code: 'ERR_TRANSITION_REFUSED';
  readonly reason: 'refused' | 'abandoned';
  /** The member that refused (or, for `abandoned`, the committer that left). */
  readonly by: string;
  /** Chunnel names of the stack that was proposed. */
  readonly proposed: readonly string[];

  constructor(name: string, proposed: readonly string[], reason: 'refused' | 'abandoned', by: string) {
    super(
      'ERR_TRANSITION_REFUSED',
      reason === 'refused'
        ? `member "${by}" of rendezvous "${name}" refused to switch to [${proposed.join(', ')}]: its stack cannot run it; the old stack stays`
        : `the transition of rendezvous "${name}" to [${proposed.join(', ')}] was abandoned because its committer "${by}" left; the old stack stays`,
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
