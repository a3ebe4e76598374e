import { rewriteElems, wrapChunnels, type AnyChunnel, type Conn, type Pass, type Role, type StackElem } from '@bertha/core';

export interface BuildContext {
  readonly role: Role;
  readonly peer: string;
  readonly passes: readonly Pass[] | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Turns a picked variant (its Chunnels and their names) into the datapath:
 * applies the optimization passes, calls every chosen Chunnel's `picked`
 * (application side first), then wraps bottom-up over `data`.
 */
export async function build(
  chunnels: readonly AnyChunnel[],
  names: readonly string[],
  data: Conn<Uint8Array>,
  ctx: BuildContext,
): Promise<{ top: Conn<unknown>; stack: readonly string[] }> {
  let final = chunnels;
  let stack = names;
  if (ctx.passes && ctx.passes.length > 0) {
    let elems: StackElem[] = [...chunnels];
    for (const pass of ctx.passes) elems = rewriteElems(elems, pass);
    // Passes replace Chunnels by Chunnels (rewriteElems checks), so the picked stack stays select-free.
    final = elems as AnyChunnel[];
    stack = final.map((c) => c.name);
  }
  for (let position = 0; position < final.length; position++) {
    const c = final[position] as AnyChunnel;
    // Most Chunnels have no callback: no await (a turn of the microtask queue) for them.
    if (c.picked) await c.picked({ role: ctx.role, peer: ctx.peer, stack, position });
  }
  const top = await wrapChunnels(final, data, ctx.signal ? { role: ctx.role, peer: ctx.peer, signal: ctx.signal } : { role: ctx.role, peer: ctx.peer });
  return { top, stack };
}
