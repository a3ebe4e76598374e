// Lower bound of any 0-RTT protocol over our base UDP conns: the client's first datagram carries the
// pick bytes (as a real 'use' does) and the data; the server checks the pick by comparing bytes and
// answers with a tagged echo; the client strips the tag. No channel, no stack, no bookkeeping.
import { udp, type Conn } from '@bertha/core';
const t = udp();
const lo = { host: '127.0.0.1', port: 0 };
const raw = await t.listen(lo);
const fast = await t.listen(lo);
const PICK = Buffer.alloc(554, 7);
async function echoOnce(accept: () => Promise<Conn<Uint8Array>>, check: boolean) {
  for (;;) {
    const c = await accept();
    void c.recv().then((m) => {
      if (check) {
        if (Buffer.compare(Buffer.from(m.buffer, m.byteOffset + 1, PICK.length), PICK) !== 0) throw new Error('bad pick');
        const out = Buffer.allocUnsafe(1 + m.length - 1 - PICK.length); out[0] = 0; out.set(m.subarray(1 + PICK.length), 1);
        return c.send(out);
      }
      return c.send(m);
    }).finally(() => void c.close());
  }
}
void echoOnce(() => raw.accept(), false); void echoOnce(() => fast.accept(), true);
const payload = new Uint8Array(8);
const res: Record<string, number[]> = { raw: [], floor: [] };
for (let i = 0; i < 5000; i++) for (const k of ['raw', 'floor'] as const) {
  const t0 = performance.now();
  const c = await t.connect(k === 'raw' ? raw.address : fast.address);
  if (k === 'raw') { await c.send(payload); await c.recv(); }
  else { const out = Buffer.allocUnsafe(1 + PICK.length + 8); out[0] = 2; PICK.copy(out, 1); out.set(payload, 1 + PICK.length); await c.send(out); const m = await c.recv(); if (m[0] !== 0) throw new Error('tag'); }
  const us = (performance.now() - t0) * 1000;
  await c.close();
  if (i > 500) res[k]!.push(us);
}
const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`raw ${med(res.raw!).toFixed(1)}  floor ${med(res.floor!).toFixed(1)}  ratio ${(med(res.floor!) / med(res.raw!)).toFixed(2)}`);
process.exit(0);
