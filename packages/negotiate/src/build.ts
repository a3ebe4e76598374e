import { rewriteElems, wrapChunnels, type AnyChunnel, type Conn, type Pass, type Role, type StackElem, type WrapContext } from '@bertha/core';

/** A built datapath: its top, and the names of its Chunnels after the passes. */
export interface Built {
  readonly top: Conn<unknown>;
  readonly stack: readonly string[];
}

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
export function build(
  chunnels: readonly AnyChunnel[],
  names: readonly string[],
  data: Conn<Uint8Array>,
  ctx: BuildContext,
): Promise<Built> {
  let final = chunnels;
  let stack = names;
  if (ctx.passes && ctx.passes.length > 0) {
    try {
      final = rewrite(chunnels, ctx.passes);
    } catch (err) {
      // Callers get every failure as a rejection.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    stack = final.map((c) => c.name);
  }
  const wrapCtx: WrapContext = ctx.signal ? { role: ctx.role, peer: ctx.peer, signal: ctx.signal } : { role: ctx.role, peer: ctx.peer };
  // Most stacks have no `picked` callback: no async frame, no awaits for them (every connection is built here).
  if (!final.some((c) => c.picked !== undefined)) return wrapChunnels(final, data, wrapCtx).then((top) => ({ top, stack }));
  return pickedThenWrap(final, stack, data, ctx, wrapCtx);
}

async function pickedThenWrap(chunnels: readonly AnyChunnel[], stack: readonly string[], data: Conn<Uint8Array>, ctx: BuildContext, wrapCtx: WrapContext): Promise<Built> {
  for (let position = 0; position < chunnels.length; position++) {
    const c = chunnels[position] as AnyChunnel;
    if (c.picked) await c.picked({ role: ctx.role, peer: ctx.peer, stack, position });
  }
  return { top: await wrapChunnels(chunnels, data, wrapCtx), stack };
}

function rewrite(chunnels: readonly AnyChunnel[], passes: readonly Pass[]): AnyChunnel[] {
  let elems: StackElem[] = [...chunnels];
  for (const pass of passes) elems = rewriteElems(elems, pass);
  // Passes replace Chunnels by Chunnels (rewriteElems checks), so the picked stack stays select-free.
  return elems as AnyChunnel[];
}
