import type { AnyChunnel, WrapContext } from '../chunnel.js';
import type { Conn } from '../conn/conn.js';
import { publishStackOpen } from '../diagnostics/conn-channels.js';
import { StackError } from '../errors.js';
import { isSelect, type StackElem } from './elements.js';
import type { Stack, StackBottom, StackTop } from './stack.js';
import type { HasSelect } from './typecheck.js';

/** The message `tsc` prints when `wrap` is given a stack with `select`. */
export type NoSelectAllowed = 'bertha: wrap() needs a stack without select: negotiate it with connect()/listen() from @bertha/negotiate, or pick a branch';

/**
 * Builds the connection for a list of Chunnels (application side first) over
 * `conn`, bottom-up. If a Chunnel fails, the connections already built are
 * closed. Used by `wrap` and by negotiation on picked variants.
 */
export async function wrapChunnels(chunnels: readonly AnyChunnel[], conn: Conn<unknown>, ctx: WrapContext): Promise<Conn<unknown>> {
  let current = conn;
  for (let i = chunnels.length - 1; i >= 0; i--) {
    const c = chunnels[i] as AnyChunnel;
    try {
      current = (await c.connectWrap(current, ctx)) as Conn<unknown>;
    } catch (err) {
      await current.close().catch(() => undefined);
      throw err;
    }
  }
  return current;
}

/**
 * Builds a stack over a connection you already have, without negotiation.
 * Only for stacks without `select` (a compile error otherwise).
 */
export async function wrap<S extends Stack>(
  stack: HasSelect<S['elems']> extends true ? NoSelectAllowed : S,
  conn: Conn<StackBottom<S>>,
  ctx: WrapContext = { role: 'client' },
): Promise<Conn<StackTop<S>>> {
  const elems: readonly StackElem[] = (stack as S).elems;
  const sel = elems.find(isSelect);
  if (sel) throw new StackError(`wrap() needs a stack without select, found ${sel.name}: negotiate it with connect()/listen() from @bertha/negotiate`);
  const top = await wrapChunnels(elems as readonly AnyChunnel[], conn, ctx);
  publishStackOpen(top, conn, () => elems.map((e) => e.name), ctx.role);
  return top as Conn<StackTop<S>>;
}
