import type { Chunnel, WrapContext } from '../chunnel.js';
import type { Conn } from '../conn/conn.js';

/**
 * A Chunnel whose `connectWrap` promises a more specific Conn (one with
 * stats of its own), for callers who wrap by hand and want to read them.
 */
export interface ChunnelWithConn<Inner, Outer, Name extends string, C extends Conn<Outer>> extends Chunnel<Inner, Outer, Name> {
  connectWrap(inner: Conn<Inner>, ctx: WrapContext): Promise<C>;
}
