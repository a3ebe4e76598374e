/** The code of the warning a listener without `onError` emits on its first failed negotiation. */
export const UNHANDLED_NEGOTIATION_FAILURE = 'BERTHA_UNHANDLED_NEGOTIATION_FAILURE';

/**
 * Warns (once per listener, the caller keeps count) that a negotiation failed
 * where nothing hears it: without `onError`, failures are only counted.
 */
export function warnUnhandledFailure(err: Error, peer: string): void {
  process.emitWarning(
    `a negotiation with ${peer} failed and the listener has no onError, so this and later failures are only counted in listener.stats: ${err.message}. ` +
      'Pass listen(stack, base, addr, { onError: (err, peer) => … }) to handle them',
    { code: UNHANDLED_NEGOTIATION_FAILURE },
  );
}
