import { rewriteElems, wrapChunnels, type AnyChunnel, type Conn, type Pass, type Role, type StackElem } from '@bertha/core';

export interface BuildContext {
  readonly role: Role;
  readonly peer: string;
  readonly passes: readonly Pass[] | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Turns a picked variant into the datapath: applies the optimization
 * passes, calls every chosen Chunnel's `picked` (application side first),
 * then wraps bottom-up over `data`.
 */
export async function build(chunnels: readonly AnyChunnel[], data: Conn<Uint8Array>, ctx: BuildContext): Promise<{ top: Conn<unknown>; stack: string[] }> {
  let elems: StackElem[] = [...chunnels];
  for (const pass of ctx.passes ?? []) elems = rewriteElems(elems, pass);
  // Passes replace Chunnels by Chunnels (rewriteElems checks), so the picked stack stays select-free.
  const final = elems as AnyChunnel[];
  const stack = final.map((c) => c.name);
  for (let position = 0; position < final.length; position++) {
    const c = final[position] as AnyChunnel;
    // Most Chunnels have no callback: no await (a turn of the microtask queue) for them.
    if (c.picked) await c.picked({ role: ctx.role, peer: ctx.peer, stack, position });
  }
  const top = await wrapChunnels(final, data, { role: ctx.role, peer: ctx.peer, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  return { top, stack };
}
