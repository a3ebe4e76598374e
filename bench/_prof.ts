import { performance } from 'node:perf_hooks';
import { makeStack, select, twoSided, udp, type Chunnel } from '@bertha/core';
import { connect, listen, memoryPickCache } from '@bertha/negotiate';
function pt<const N extends string>(name: N, label: string): Chunnel<Uint8Array, Uint8Array, N> {
  return { name, capabilities: () => [twoSided('encryption', label)], connectWrap: async (inner) => inner };
}
const stack = makeStack(select(pt('plain', 'none'), pt('tls', 'tls')));
const t = udp({ closedPeerQuietMs: 0 });
const srv = await listen(stack, t, { host: '127.0.0.1', port: 0 });
void (async () => { for (;;) { const c = await srv.accept(); void c.recv().then((m) => c.send(m)).finally(() => void c.close()); } })();
const raw = await t.listen({ host: '127.0.0.1', port: 0 });
void (async () => { for (;;) { const c = await raw.accept(); void c.recv().then((m) => c.send(m)).finally(() => void c.close()); } })();
const cache = memoryPickCache();
await (await connect(stack, t, srv.address, { cache })).close();
const acc = { base: 0, conn: 0, send: 0, recv: 0 , rawconn: 0, rawtotal: 0};
const N = 500;
for (let i = 0; i < N; i++) { if (i % 50 === 0) console.error("trial", i);
  let a = performance.now();
  const rc = await t.connect(raw.address); acc.rawconn += performance.now() - a;
  await rc.send(new Uint8Array(8)); await rc.recv({ signal: AbortSignal.timeout(3000) }).catch(() => console.error("raw lost", i, rc.local)); acc.rawtotal += performance.now() - a; await rc.close();
  a = performance.now();
  const c = await connect(stack, t, srv.address, { cache, zeroRtt: true });
  const b = performance.now();
  await c.send(new Uint8Array(8));
  const d = performance.now();
  await c.recv();
  const e = performance.now();
  acc.conn += b - a; acc.send += d - b; acc.recv += e - d;
  await c.close();
}
for (const [k, v] of Object.entries(acc)) console.log(k, ((v / N) * 1000).toFixed(1), 'us');
await srv.close(); await raw.close();
