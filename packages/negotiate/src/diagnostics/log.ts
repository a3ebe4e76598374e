/** `DEBUG=bertha:negotiate` and `DEBUG=bertha:rendezvous`: one line per message of their channels. */
import { debugChannels } from '@bertha/core';
import { NEGOTIATE_FAILURE, NEGOTIATE_PICK, NEGOTIATE_START, type NegotiateFailureMessage, type NegotiatePickMessage, type NegotiateStartMessage } from './negotiate-channels.js';
import { RENDEZVOUS_STORE, RENDEZVOUS_TRANSITION, type RendezvousStoreMessage, type RendezvousTransitionMessage } from './rendezvous-channels.js';

const code = (err: Error): string => {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? `${c} ` : '';
};
const names = (pick: readonly string[]): string => `[${pick.join(', ')}]`;

debugChannels('bertha:negotiate', {
  [NEGOTIATE_START]: (m: NegotiateStartMessage) => `#${m.id} ${m.role} start with ${m.peer}`,
  [NEGOTIATE_PICK]: (m: NegotiatePickMessage) => {
    const n = m.negotiation;
    const rejections = n.rejections > 0 ? ` after ${n.rejections} rejection(s)` : '';
    return `#${m.id} ${m.role} pick ${n.mode} with ${m.peer}: ${names(n.stack)}${rejections}`;
  },
  [NEGOTIATE_FAILURE]: (m: NegotiateFailureMessage) => `#${m.id} ${m.role} failure with ${m.peer}: ${code(m.error)}${m.error.message}`,
});

debugChannels('bertha:rendezvous', {
  [RENDEZVOUS_TRANSITION]: (m: RendezvousTransitionMessage) => {
    const who = `${m.name} ${m.member}`;
    switch (m.phase) {
      case 'proposed':
        return `${who}: ${m.committer} proposed ${names(m.pick)} (round ${m.round})`;
      case 'committed':
        return `${who}: committed ${names(m.pick)} (round ${m.round})`;
      case 'rolled-back':
        return `${who}: rolled back (round ${m.round}), ${m.reason} by ${m.by}`;
      case 'switched':
        return `${who}: switched to ${names(m.pick)}`;
    }
  },
  [RENDEZVOUS_STORE]: (m: RendezvousStoreMessage) => {
    const who = `${m.name} ${m.member}`;
    switch (m.status) {
      case 'down':
        return `${who}: store down: ${m.error.message}`;
      case 'up':
        return `${who}: store up`;
      case 'generation':
        return `${who}: store lost its state; registered again in generation ${m.generation} (was ${m.previous})`;
    }
  },
});
