import { makeStack, select, twoSided, udp, type Chunnel, type Conn } from '@bertha/core';
import { connect, listen, memoryPickCache } from '@bertha/negotiate';
function passThrough<const N extends string>(name: N, label: string): Chunnel<Uint8Array, Uint8Array, N> {
  return { name, capabilities: () => [twoSided('encryption', label)], connectWrap: async (inner) => inner };
}
const stack = makeStack(select(passThrough('plain', 'none'), passThrough('tls', 'tls')));
const payload = new Uint8Array(8);
const t = udp();
const lo = { host: '127.0.0.1', port: 0 };
const raw = await t.listen(lo);
const neg = await listen(stack, t, lo);
async function echoOnce<D>(accept: () => Promise<Conn<D>>) { for (;;) { const c = await accept(); void c.recv().then((m) => c.send(m)).finally(() => void c.close()); } }
void echoOnce(() => raw.accept()); void echoOnce(() => neg.accept());
const cache = memoryPickCache();
const kinds: Record<string, () => Promise<Conn<Uint8Array>>> = {
  raw: () => t.connect(raw.address),
  zero: () => connect(stack, t, neg.address, { cache, zeroRtt: true }),
  one: () => connect(stack, t, neg.address, { cache }),
};
const which = process.argv.slice(2);
const res: Record<string, number[]> = {};
for (let i = 0; i < 3000; i++) for (const k of which) {
  const t0 = performance.now();
  const c = await kinds[k]!();
  await c.send(payload); await c.recv();
  const us = (performance.now() - t0) * 1000;
  await c.close();
  if (i > 200) (res[k] ??= []).push(us);
}
console.log(which.map((k) => { const s = res[k]!.sort((a, b) => a - b); return `${k} ${s[s.length >> 1]!.toFixed(0)}`; }).join('  '));
process.exit(0);
