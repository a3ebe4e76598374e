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
const marks: [string, number][] = [];
(globalThis as any).__mark = (n: string) => marks.push([n, performance.now()]);
const M = (globalThis as any).__mark;
async function echoOnce<D>(accept: () => Promise<Conn<D>>) { for (;;) { const c = await accept(); M('app accepted'); void c.recv().then((m) => { M('app recv'); return c.send(m); }).finally(() => void c.close()); } }
void echoOnce(() => raw.accept()); void echoOnce(() => neg.accept());
const cache = memoryPickCache();
const kinds: Record<string, () => Promise<Conn<Uint8Array>>> = { raw: () => t.connect(raw.address), zero: () => connect(stack, t, neg.address, { cache, zeroRtt: true }), one: () => connect(stack, t, neg.address, { cache }) };
const which = process.argv.slice(2);
const steps: Record<string, Record<string, number[]>> = {};
const tot: Record<string, number[]> = {};
for (let i = 0; i < 3000; i++) for (const k of which) {
  marks.length = 0; M('start');
  const c = await kinds[k]!(); M('cli connected');
  await c.send(payload); M('cli sent');
  await c.recv(); M('cli recv');
  await c.close();
  if (i > 300 && k !== 'one') { (tot[k] ??= []).push((marks.at(-1)![1] - marks[0]![1]) * 1000); for (let j = 1; j < marks.length; j++) { const key = `${String(j).padStart(2)} ${marks[j-1]![0]} -> ${marks[j]![0]}`; ((steps[k] ??= {})[key] ??= []).push((marks[j]![1] - marks[j-1]![1]) * 1000); } }
}
const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
for (const k of Object.keys(steps)) { console.log(k, 'total', med(tot[k]!).toFixed(1)); for (const key of Object.keys(steps[k]!).sort()) if (steps[k]![key]!.length > 2000) console.log('  ', key, med(steps[k]![key]!).toFixed(1)); }
process.exit(0);
