import { rewriteElems, wrapChunnels, type AnyChunnel, type Conn, type Pass, type Role, type StackElem, type WrapContext } from '@bertha/core';

/** A picked variant as it runs: its Chunnels after the optimization passes, and their names. */
export interface Datapath {
  readonly chunnels: readonly AnyChunnel[];
  readonly stack: readonly string[];
}

export interface BuildContext {
  readonly role: Role;
  readonly peer: string;
  readonly signal: AbortSignal | undefined;
}

/** Applies the optimization passes to a picked variant (its Chunnels and their names). Throws what a pass throws. */
export function datapath(chunnels: readonly AnyChunnel[], names: readonly string[], passes: readonly Pass[] | undefined): Datapath {
  if (!passes || passes.length === 0) return { chunnels, stack: names };
  const final = rewrite(chunnels, passes);
  return { chunnels: final, stack: final.map((c) => c.name) };
}

/**
 * Builds the datapath over `data`: calls every chosen Chunnel's `picked`
 * (application side first), then wraps bottom-up; resolves to its top.
 */
export function build(path: Datapath, data: Conn<Uint8Array>, ctx: BuildContext): Promise<Conn<unknown>> {
  const wrapCtx: WrapContext = ctx.signal ? { role: ctx.role, peer: ctx.peer, signal: ctx.signal } : { role: ctx.role, peer: ctx.peer };
  // Most stacks have no `picked` callback: no async frame, no awaits for them (every connection is built here).
  if (!path.chunnels.some((c) => c.picked !== undefined)) return wrapChunnels(path.chunnels, data, wrapCtx);
  return pickedThenWrap(path, data, ctx, wrapCtx);
}

async function pickedThenWrap({ chunnels, stack }: Datapath, data: Conn<Uint8Array>, ctx: BuildContext, wrapCtx: WrapContext): Promise<Conn<unknown>> {
  for (let position = 0; position < chunnels.length; position++) {
    const c = chunnels[position] as AnyChunnel;
    if (c.picked) await c.picked({ role: ctx.role, peer: ctx.peer, stack, position });
  }
  return wrapChunnels(chunnels, data, wrapCtx);
}

function rewrite(chunnels: readonly AnyChunnel[], passes: readonly Pass[]): AnyChunnel[] {
  let elems: StackElem[] = [...chunnels];
  for (const pass of passes) elems = rewriteElems(elems, pass);
  // Passes replace Chunnels by Chunnels (rewriteElems checks), so the picked stack stays select-free.
  return elems as AnyChunnel[];
}
