/**
 * A shadow: one of the library's window algorithms run on another flow's
 * reports, its window read rather than applied. Nimbus's TCP-competitive mode
 * follows a shadow Cubic; the Park environment's confined action space scales
 * a shadow Vegas. The shadow's datapath handle drops program changes (the
 * real flow keeps its own program) and keeps the last window it was given.
 */
import type { DatapathHandle, FieldUpdates, Flow, FlowInfo, GenericProgram } from '@bertha/ccp';

export interface Shadow<F extends Flow> {
  readonly flow: F;
  /** The last window the shadow pushed, bytes (its initial window before the first report). */
  readonly cwnd: number;
}

export function shadowFlow<F extends Flow>(info: FlowInfo, make: (dp: DatapathHandle<GenericProgram>, info: FlowInfo) => F): Shadow<F> {
  let cwnd = info.initCwnd;
  const dp: DatapathHandle<GenericProgram> = {
    info,
    program: undefined,
    setProgram() {},
    updateField(u: FieldUpdates) {
      if (u.cwnd !== undefined) cwnd = u.cwnd;
    },
  };
  const flow = make(dp, info);
  return {
    flow,
    get cwnd() {
      return cwnd;
    },
  };
}
